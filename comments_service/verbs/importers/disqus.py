"""Disqus XML exports: ``<disqus>`` holding ``<category>``, ``<thread>`` and ``<post>``.

Disqus writes the elements in the ``http://disqus.com`` namespace and its own ids as
``dsq:id`` attributes (``http://disqus.com/disqus-internals``). Its schema does not fix
the order: a post may come before its thread or its parent, and a post may refer to its
thread and parent by ``dsq:id`` attribute or, in hand-made files, by their ``<id>``
text. So every post is read first and resolved once the whole file is known. The file
may be gzipped, as Disqus mails it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from .html_body import clean_name, html_to_text
from .records import (
    Export,
    ImportedComment,
    ImportedThread,
    ImportSourceError,
    SkipReason,
    SourceStatus,
)
from .xml_stream import Progress, XMLStream, child, child_text, raw_text

SYSTEM = "disqus"
NS = "http://disqus.com"
DSQ = "http://disqus.com/disqus-internals"
DSQ_ID = f"{{{DSQ}}}id"


@dataclass
class _Reference:
    """How a post names another object: by dsq:id, or by its <id> text."""

    dsq_id: str
    text: str

    @classmethod
    def of(cls, element: Element | None) -> _Reference | None:
        if element is None:
            return None
        reference = cls(element.get(DSQ_ID, "").strip(), (element.text or "").strip())
        return reference if reference.dsq_id or reference.text else None


@dataclass
class _Post:
    comment: ImportedComment
    thread: _Reference | None
    parent: _Reference | None
    identifier: str


def parse(path: Path, progress: Progress | None = None) -> Export:
    """Every thread and post of a Disqus export; ImportSourceError if it is not one."""
    stream = XMLStream(path, depth=1, progress=progress)
    export = Export(SYSTEM, path)
    posts: list[_Post] = []
    undated: list[_Reference | None] = []  # the thread of each post without a valid date
    checked = False
    for element in stream:
        if not checked:
            _check_root(stream, path)
            checked = True
        if element.tag == f"{{{NS}}}thread":
            thread = _read_thread(element)
            export.threads.setdefault(thread.source_id, thread)
        elif element.tag == f"{{{NS}}}post":
            post = _read_post(element)
            if post is not None:
                posts.append(post)
            else:
                undated.append(_Reference.of(child(element, NS, "thread")))
    if not checked:
        _check_root(stream, path)
    _resolve(export, posts, undated)
    return export


def _check_root(stream: XMLStream, path: Path) -> None:
    if stream.root_tag != f"{{{NS}}}disqus":
        local = stream.root_tag.rsplit("}", 1)[-1]
        raise ImportSourceError(path, f"is not a Disqus export: its root element is <{local}>"
                                f", not <disqus xmlns=\"{NS}\">")


def _read_thread(element: Element) -> ImportedThread:
    identifier = child_text(element, NS, "id")
    return ImportedThread(
        source_system=SYSTEM,
        source_id=element.get(DSQ_ID, "").strip() or f"id:{identifier}",
        url=child_text(element, NS, "link"),
        identifier=identifier,
        title=" ".join(child_text(element, NS, "title").split()),
    )


def _read_post(element: Element) -> _Post | None:
    created = _disqus_time(child_text(element, NS, "createdAt"))
    if created is None:
        return None
    author = child(element, NS, "author")
    name = email = username = ""
    if author is not None:
        name = raw_text(author, NS, "name")
        email = child_text(author, NS, "email")
        # An anonymous (guest) post carries no account, whatever its username says.
        if not _true(child_text(author, NS, "isAnonymous")):
            username = child_text(author, NS, "username")
    message = raw_text(element, NS, "message")
    thread = _Reference.of(child(element, NS, "thread"))
    identifier = child_text(element, NS, "id")
    source_id = element.get(DSQ_ID, "").strip() or (f"id:{identifier}" if identifier else "")
    if not source_id:
        # Without any id the post is still stable content: name it by what it says, so a
        # second import of the same file recognises it.
        digest = hashlib.sha256("\x1f".join(
            (thread.dsq_id or thread.text if thread else "", created.isoformat(), name, message)
        ).encode()).hexdigest()
        source_id = f"sha:{digest[:40]}"
    comment = ImportedComment(
        source_system=SYSTEM,
        source_id=source_id,
        thread_source_id="",  # resolved once every thread is known
        parent_source_id=None,
        author_name=clean_name(name),
        email=email or None,
        author_url="",
        ip=child_text(element, NS, "ipAddress") or None,
        created_at=created,
        status=_status(element),
        body_text=html_to_text(message, newlines="html"),
        source_username=username,
    )
    return _Post(comment, thread, _Reference.of(child(element, NS, "parent")), identifier)


def _status(element: Element) -> SourceStatus:
    if _true(child_text(element, NS, "isSpam")):
        return SourceStatus.SPAM
    if _true(child_text(element, NS, "isDeleted")):
        return SourceStatus.DELETED
    # Not in every export; where it is, an unapproved post is still waiting for a moderator.
    approved = child_text(element, NS, "isApproved")
    if approved and not _true(approved):
        return SourceStatus.PENDING
    return SourceStatus.APPROVED


def _resolve(export: Export, posts: list[_Post], undated: list[_Reference | None]) -> None:
    """Point each post at its thread and parent source ids, now that all are read."""
    threads_by_identifier = {t.identifier: t.source_id for t in export.threads.values()
                             if t.identifier}
    for reference in undated:
        export.skip(_find(reference, export.threads.keys(), threads_by_identifier),
                    SkipReason.NO_DATE)
    posts_by_identifier = {p.identifier: p.comment.source_id for p in posts if p.identifier}
    post_ids = {p.comment.source_id for p in posts}
    for post in posts:
        thread_id = _find(post.thread, export.threads.keys(), threads_by_identifier)
        if thread_id is None:
            export.skip(None, SkipReason.NO_THREAD)
            continue
        post.comment.thread_source_id = thread_id
        if post.parent is not None:
            # An unknown parent is kept as named; the import re-attaches it and says so.
            post.comment.parent_source_id = _find(post.parent, post_ids, posts_by_identifier) \
                or post.parent.dsq_id or f"id:{post.parent.text}"
        export.comments.append(post.comment)


def _find(reference: _Reference | None, ids: Collection[str],
          by_identifier: dict[str, str]) -> str | None:
    if reference is None:
        return None
    if reference.dsq_id and reference.dsq_id in ids:
        return reference.dsq_id
    if reference.text:
        if reference.text in by_identifier:
            return by_identifier[reference.text]
        if reference.text in ids:
            return reference.text
    return None


def _disqus_time(value: str) -> datetime | None:
    """createdAt, e.g. 2011-11-02T02:27:25Z; a time without a zone is UTC, as Disqus means."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")
