"""Old comment bodies (HTML, WordPress text, Isso Markdown) -> our plain-text form.

Our renderer makes the HTML (render.render_comment: paragraphs on blank lines, <br> on
single newlines, bare http(s) URLs linked), so an import keeps only what survives as
text: paragraphs and line breaks, quotations as lines starting with "> ", list items as
"- " lines, and links as their text followed by the address. Everything else (images,
scripts and styles with their content, formatting) goes; entities are decoded.

Two kinds of input differ in what a newline means. Disqus messages are real HTML, where
a newline is just a space (``newlines="html"``). WordPress stores what the reader typed
with a few tags in it and makes paragraphs from its newlines when showing it (wpautop);
Isso stores Markdown; for both, newlines are the text's own (``newlines="text"``).
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import quote

Newlines = Literal["html", "text"]

# Dropped with everything inside them: none of it was ever text a reader saw.
_DROP_CONTENT = {"script", "style", "template", "head", "title", "iframe", "object",
                 "noscript", "svg", "math", "select", "textarea"}
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "aside", "main", "nav",
           "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table",
           "figure", "figcaption", "address", "hr", "pre", "center", "details", "summary"}
_LINE_BREAKS = {"br", "tr", "li"}
_CELLS = {"td", "th"}
# Characters the service refuses in a comment (control characters except tab and
# newline, lone surrogates); an old system may have stored them.
_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
# Markdown links and autolinks, for Isso: [text](https://...) and <https://...>.
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://[^\s)]+(?:\([^\s)]*\))?[^\s)]*)\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>")
# Characters that would end a bare URL early in our renderer (render.URL_RE).
_URL_UNSAFE = " \"'<>`"


def html_to_text(source: str, newlines: Newlines = "html") -> str:
    """The plain text of an HTML body, as described in the module docstring."""
    converter = _Converter(keep_newlines=newlines == "text")
    converter.feed(source.replace("\r\n", "\n").replace("\r", "\n"))
    converter.close()
    return converter.result()


def markdown_to_text(source: str) -> str:
    """The plain text of an Isso (Markdown, possibly with some HTML) body.

    Markdown links become link text followed by the address, like HTML ones; other
    Markdown marks are left as typed, since they read naturally as text.
    """
    def link(match: re.Match[str]) -> str:
        return f'<a href="{_attr(match.group(2))}">{match.group(1)}</a>'

    source = _MD_LINK.sub(link, source)
    source = _MD_AUTOLINK.sub(lambda m: f'<a href="{_attr(m.group(1))}">{m.group(1)}</a>',
                              source)
    return html_to_text(source, newlines="text")


def clean_name(name: str, decode_entities: bool = False) -> str:
    """An author name as text: exactly as stored, whatever script, HTML included.

    Only what cannot stand in a one-line name goes: line breaks and tabs become spaces,
    other control characters are dropped, and the ends are trimmed. WordPress stores
    names HTML-escaped ("Tom &amp; Jerry"), so for it ``decode_entities`` gives back what
    the reader typed; markup is never parsed, a name "<b>Sam</b>" stays those characters.
    """
    if decode_entities:
        name = unescape(name)
    name = re.sub(r"[\t\n\r\f\v]+", " ", name)
    return _BAD.sub("", name).strip()


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


class _Converter(HTMLParser):
    """Walks the HTML once, building lines tagged with their quotation depth."""

    def __init__(self, keep_newlines: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_newlines = keep_newlines
        self.lines: list[tuple[int, str]] = []  # (quote depth, text); "" is a blank line
        self.line: list[str] = []
        self.line_quote = 0
        self.quote = 0
        self.drop = 0  # inside how many content-dropping elements
        self.pre = 0
        self.lists: list[list[int]] = []  # per open list: [next number] or [] when bulleted
        self.links: list[tuple[str, list[str]]] = []  # (href, text parts) of open <a>
        # After a <br> or a block's end, the newline the writer typed after the tag
        # ("line<br />\nline") is the same break, not a second one.
        self.absorb_newline = False

    # Structure ----------------------------------------------------------------------------

    def _newline(self, structural: bool = True) -> None:
        if self.links:  # a break inside a link: keep the link's words on one line
            self.links[-1][1].append(" ")
            return
        self.lines.append((self.line_quote, "".join(self.line)))
        self.line = []
        self.line_quote = self.quote
        self.absorb_newline = structural

    def _paragraph(self) -> None:
        if self.links:
            self.links[-1][1].append(" ")
            return
        if "".join(self.line).strip():
            self._newline()
        self.line = []
        self.lines.append((self.quote, ""))
        self.line_quote = self.quote
        self.absorb_newline = True

    def _write(self, text: str) -> None:
        if text.strip():
            self.absorb_newline = False
        if not "".join(self.line).strip():
            self.line_quote = self.quote
        if self.links:
            self.links[-1][1].append(text)
        else:
            self.line.append(text)

    # HTMLParser callbacks -------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.drop += 1
            return
        if self.drop:
            return
        if tag == "blockquote":
            self._paragraph()
            self.quote += 1
            self.line_quote = self.quote
        elif tag in ("ul", "ol"):
            self._paragraph()
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            if "".join(self.line).strip():
                self._newline()
            marker = "- "
            if self.lists and self.lists[-1]:
                marker = f"{self.lists[-1][0]}. "
                self.lists[-1][0] += 1
            self._write(marker)
        elif tag in _BLOCKS:
            self._paragraph()
            if tag == "pre":
                self.pre += 1
        elif tag in _LINE_BREAKS:
            self._newline()
        elif tag in _CELLS:
            self._write(" ")
        elif tag == "a":
            href = next((v for k, v in attrs if k == "href" and v), "") or ""
            self.links.append((href.strip(), []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <img/>: never containers, whatever the slash says.
        if tag in _DROP_CONTENT or tag == "a":
            return
        self.handle_starttag(tag, attrs)
        if tag in _BLOCKS or tag == "blockquote":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.drop = max(0, self.drop - 1)
            return
        if self.drop:
            return
        if tag == "blockquote":
            self._paragraph()
            self.quote = max(0, self.quote - 1)
            self.line_quote = self.quote
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._paragraph()
        elif tag == "li":
            self._newline()
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._paragraph()
        elif tag == "a" and self.links:
            href, parts = self.links.pop()
            self._write(_link_text(" ".join("".join(parts).split()), href))

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        if self.pre or self.keep_newlines:
            pieces = data.split("\n")
            for i, piece in enumerate(pieces):
                if i:
                    if self.absorb_newline and not "".join(self.line).strip():
                        self.absorb_newline = False
                        self.line = []
                    else:
                        self._newline(structural=False)
                self._write(piece)
        else:
            self._write(re.sub(r"\s+", " ", data))

    # Result ---------------------------------------------------------------------------

    def result(self) -> str:
        if self.links:  # an <a> never closed: keep its text
            while self.links:
                href, parts = self.links.pop()
                self._write(_link_text(" ".join("".join(parts).split()), href))
        if self.line:
            self._newline()
        out: list[str] = []
        for depth, text in self.lines:
            text = _SPACES.sub(" ", _BAD.sub("", text)).strip()
            if not text:
                if out and out[-1] != "":
                    out.append("")
                continue
            out.append("> " * depth + text)
        while out and out[-1] == "":
            out.pop()
        return unicodedata.normalize("NFC", "\n".join(out))


def _link_text(text: str, href: str) -> str:
    """A link as text: its words, then its address when that says something more."""
    if not re.match(r"https?://", href, re.IGNORECASE):
        return text  # javascript:, mailto:, relative links: the words are what is left
    url = "".join(quote(ch) if ch in _URL_UNSAFE else ch for ch in href)
    if not text:
        return url
    if _same_address(text, href):
        return url
    return f"{text} ({url})"


def _same_address(text: str, href: str) -> bool:
    """True when the link text is the address itself, give or take scheme and slash."""
    def bare(value: str) -> str:
        value = re.sub(r"^https?://", "", value.strip(), flags=re.IGNORECASE)
        return re.sub(r"^www\.", "", value, flags=re.IGNORECASE).rstrip("/").casefold()

    if bare(text) == bare(href):
        return True
    # Disqus and others shorten long addresses in the link text: "example.org/a/very/l..."
    shortened = text.strip()
    return shortened.endswith(("...", "\u2026")) and bare(href).startswith(
        bare(shortened.rstrip(".\u2026")))
