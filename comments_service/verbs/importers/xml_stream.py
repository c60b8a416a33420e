"""Reading big XML exports safely: incrementally, and refusing any DOCTYPE.

Why not ``xml.etree.ElementTree.iterparse``: it cannot be told to refuse entity
declarations, so a "billion laughs" file (entities expanding into gigabytes) or one
naming external entities would be expanded or at best depend on the expat version's own
limits. defusedxml would do, but is not a dependency of the service. WordPress and Disqus
never write a DOCTYPE, so this reader drives expat directly and stops at the first
DOCTYPE or entity declaration with a clear error; an undeclared entity reference is then
plain malformed XML, which expat reports with its line.

Elements at one depth (``<item>`` under ``<rss><channel>``, ``<post>`` under
``<disqus>``) are yielded whole, each detached from the tree as it is yielded, so memory
holds one of them at a time, however large the file.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element
from xml.parsers import expat

from .records import ImportSourceError

CHUNK_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"

# Called with (bytes read so far, total bytes of the file).
Progress = Callable[[int, int], None]


class UnsafeXML(ImportSourceError):
    """The file declares a DOCTYPE or entities, which no supported export does."""


class XMLStream:
    """The elements at ``depth`` (the root is depth 0) of one XML file, as they complete.

    ``root_tag`` and ``namespaces`` (prefix -> URI, as declared anywhere so far) are known
    once the first element has been read. Tags use ElementTree's ``{uri}local`` form.
    """

    def __init__(self, path: Path, depth: int, progress: Progress | None = None) -> None:
        self.path = path
        self.depth = depth
        self.progress = progress
        self.root_tag = ""
        self.namespaces: dict[str, str] = {}
        self._stack: list[Element] = []
        self._done: list[Element] = []
        self._parser = self._make_parser()

    def _make_parser(self) -> expat.XMLParserType:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        # Parameter entities are the way into external DTD subsets; never read them.
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.StartNamespaceDeclHandler = self._namespace
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        return parser

    def __iter__(self) -> Iterator[Element]:
        try:
            raw = self.path.open("rb")
        except FileNotFoundError:
            raise ImportSourceError(self.path, "no such file") from None
        except OSError as exc:
            raise ImportSourceError(self.path, f"cannot be read: {exc.strerror}") from None
        with raw:
            total = self.path.stat().st_size
            stream = _maybe_gunzip(raw)
            while True:
                try:
                    chunk = stream.read(CHUNK_BYTES)
                except (OSError, EOFError) as exc:  # a damaged .gz
                    raise ImportSourceError(self.path, f"cannot be decompressed: {exc}") from None
                self._feed(chunk, final=not chunk)
                yield from self._drain()
                if self.progress is not None:
                    self.progress(raw.tell(), total)
                if not chunk:
                    break

    def _feed(self, chunk: bytes, final: bool) -> None:
        try:
            self._parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            message = expat.ErrorString(exc.code) if exc.code is not None else str(exc)
            raise ImportSourceError(
                self.path, f"malformed XML: {message} (column {exc.offset + 1})", exc.lineno
            ) from None

    def _drain(self) -> Iterator[Element]:
        done, self._done = self._done, []
        yield from done

    # expat handlers -----------------------------------------------------------------------

    def _refuse_doctype(self, *_args: object) -> None:
        raise UnsafeXML(self.path, "refused: the file has a DOCTYPE declaration. Exports "
                        "from WordPress and Disqus have none, and a DOCTYPE can carry entity "
                        "definitions that expand without bound (an 'XML bomb').",
                        self._parser.CurrentLineNumber)

    def _refuse_entity(self, *_args: object) -> None:
        raise UnsafeXML(self.path, "refused: the file declares XML entities",
                        self._parser.CurrentLineNumber)

    def _namespace(self, prefix: str | None, uri: str) -> None:
        self.namespaces.setdefault(prefix or "", uri)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        element = Element(_clark(name), {_clark(k): v for k, v in attributes.items()})
        level = len(self._stack)
        if level == 0:
            self.root_tag = element.tag
        if level > self.depth:
            self._stack[-1].append(element)
        self._stack.append(element)

    def _end(self, _name: str) -> None:
        element = self._stack.pop()
        if len(self._stack) == self.depth:
            self._done.append(element)

    def _text(self, data: str) -> None:
        # Text outside the wanted elements (whitespace between them) is not kept.
        if len(self._stack) <= self.depth:
            return
        current = self._stack[-1]
        if len(current):
            last = current[-1]
            last.tail = (last.tail or "") + data
        else:
            current.text = (current.text or "") + data


def _clark(name: str) -> str:
    """expat's "uri}local" as ElementTree's "{uri}local"."""
    return "{" + name if "}" in name else name


def _maybe_gunzip(raw: BinaryIO) -> BinaryIO:
    """Disqus mails its exports gzipped; read those as they come, without unpacking first."""
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def child(element: Element, namespace: str, local: str) -> Element | None:
    """The first child ``{namespace}local`` (or ``local`` when namespace is empty)."""
    return element.find(f"{{{namespace}}}{local}" if namespace else local)


def child_text(element: Element, namespace: str, local: str) -> str:
    """The text of that child, stripped; "" when absent or empty."""
    found = child(element, namespace, local)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def raw_text(element: Element, namespace: str, local: str) -> str:
    """The text of that child exactly as stored (bodies keep their own spacing)."""
    found = child(element, namespace, local)
    return "" if found is None or found.text is None else found.text
