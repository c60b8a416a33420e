"""WordPress eXtended RSS (WXR 1.1 and 1.2), as wp-admin/includes/export.php writes it.

The file is ``<rss><channel>`` with the site's ``<wp:author>`` list and one ``<item>`` per
post, each holding its ``<wp:comment>`` elements. Only the ``wp:`` namespace's version
differs between 1.1 and 1.2 (``http://wordpress.org/export/1.1/`` or ``/1.2/``); both
are read alike. Items are read one at a time (see xml_stream).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
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
from .xml_stream import Progress, XMLStream, child_text, raw_text

SYSTEM = "wordpress"
SUPPORTED_VERSIONS = ("1.1", "1.2")
WP_NAMESPACE_RE = re.compile(r"^http://wordpress\.org/export/(?P<version>[^/]+)/$")
ZERO_DATE = "0000-00-00 00:00:00"

# comment_approved as WordPress stores it -> what we keep (None: not imported).
STATUSES: dict[str, SourceStatus | None] = {
    "1": SourceStatus.APPROVED,
    "approve": SourceStatus.APPROVED,
    "0": SourceStatus.PENDING,
    "hold": SourceStatus.PENDING,
    "spam": SourceStatus.SPAM,
    "trash": None,
    "post-trashed": None,
}


def parse(path: Path, progress: Progress | None = None) -> Export:
    """Every commented item of a WXR file, with its comments; ImportSourceError if unreadable."""
    stream = XMLStream(path, depth=2, progress=progress)
    export = Export(SYSTEM, path)
    logins: dict[str, str] = {}  # WordPress user id -> login, from <wp:author>
    wp = ""
    for element in stream:
        if not wp:
            wp = _wp_namespace(stream, path)
        if element.tag == f"{{{wp}}}author":
            user_id = child_text(element, wp, "author_id")
            if user_id:
                logins[user_id] = child_text(element, wp, "author_login")
        elif element.tag == "item":
            _read_item(export, element, wp)
    if not wp:
        _wp_namespace(stream, path)  # a file with an empty channel must still be WXR
    for comment in export.comments:
        comment.source_username = logins.get(comment.source_user_id, "")
    return export


def _wp_namespace(stream: XMLStream, path: Path) -> str:
    """The file's wp: namespace, checked to be a WXR version this importer reads."""
    if stream.root_tag != "rss":
        raise ImportSourceError(path, f"is not a WordPress export: its root element is "
                                f"<{_local(stream.root_tag)}>, not <rss>")
    uri = stream.namespaces.get("wp", "")
    match = WP_NAMESPACE_RE.match(uri)
    if match is None:
        raise ImportSourceError(path, "is not a WordPress export (WXR): it declares no "
                                "xmlns:wp=\"http://wordpress.org/export/1.2/\" namespace")
    version = match.group("version")
    if version not in SUPPORTED_VERSIONS:
        raise ImportSourceError(path, f"is WXR version {version}; this importer reads "
                                f"WXR {' and '.join(SUPPORTED_VERSIONS)}")
    return uri


def _read_item(export: Export, item: Element, wp: str) -> None:
    comments = item.findall(f"{{{wp}}}comment")
    if not comments:
        return  # attachments, menu items and posts nobody commented on
    post_id = child_text(item, wp, "post_id")
    link = child_text(item, "", "link")
    slug = child_text(item, wp, "post_name")
    thread = ImportedThread(
        source_system=SYSTEM,
        source_id=post_id or link,
        url=link,
        slug=slug or _last_segment(link),
        post_id=post_id,
        title=" ".join(child_text(item, "", "title").split()),
        guid=child_text(item, "", "guid"),
    )
    if thread.source_id in export.threads:
        thread = export.threads[thread.source_id]  # the same post listed twice
    else:
        export.threads[thread.source_id] = thread
    offset = _site_offset(item, wp)
    for element in comments:
        comment = _read_comment(export, thread, element, wp, offset)
        if comment is not None:
            export.comments.append(comment)


def _read_comment(export: Export, thread: ImportedThread, element: Element, wp: str,
                  offset: timedelta | None) -> ImportedComment | None:
    kind = child_text(element, wp, "comment_type")
    if kind in ("pingback", "trackback"):
        export.skip(thread.source_id, SkipReason(kind))
        return None
    if kind not in ("", "comment"):
        # Plugins add their own types (order notes, reviews); none is a reader's comment.
        export.skip(thread.source_id, SkipReason.OTHER_TYPE)
        return None
    approved = child_text(element, wp, "comment_approved")
    status = STATUSES.get(approved, SourceStatus.PENDING)
    if status is None:
        export.skip(thread.source_id, SkipReason.TRASH)
        return None
    created, estimated = _comment_time(element, wp, offset)
    if created is None:
        export.skip(thread.source_id, SkipReason.NO_DATE)
        return None
    parent = child_text(element, wp, "comment_parent")
    user_id = child_text(element, wp, "comment_user_id")
    return ImportedComment(
        source_system=SYSTEM,
        source_id=child_text(element, wp, "comment_id"),
        thread_source_id=thread.source_id,
        parent_source_id=parent if parent not in ("", "0") else None,
        # WordPress stores names HTML-escaped (its _wp_specialchars filter).
        author_name=clean_name(raw_text(element, wp, "comment_author"), decode_entities=True),
        email=child_text(element, wp, "comment_author_email") or None,
        author_url=child_text(element, wp, "comment_author_url"),
        ip=child_text(element, wp, "comment_author_IP") or None,
        created_at=created,
        status=status,
        body_text=html_to_text(raw_text(element, wp, "comment_content"), newlines="text"),
        source_user_id=user_id if user_id not in ("", "0") else "",
        time_estimated=estimated,
    )


def _comment_time(element: Element, wp: str,
                  offset: timedelta | None) -> tuple[datetime | None, bool]:
    """The comment's UTC time, and whether it had to be estimated.

    comment_date_gmt is UTC. Comments stored before WordPress kept it (or by some
    importers) have 0000-00-00 there; then the local comment_date is shifted by the
    post's own local-to-UTC offset (post_date - post_date_gmt), or taken as UTC when the
    post has no offset either. Either estimate is reported.
    """
    gmt = _wp_datetime(child_text(element, wp, "comment_date_gmt"))
    if gmt is not None:
        return gmt, False
    local = _wp_datetime(child_text(element, wp, "comment_date"))
    if local is None:
        return None, False
    return local - (offset or timedelta(0)), True


def _site_offset(item: Element, wp: str) -> timedelta | None:
    local = _wp_datetime(child_text(item, wp, "post_date"))
    gmt = _wp_datetime(child_text(item, wp, "post_date_gmt"))
    if local is None or gmt is None:
        return None
    return local - gmt


def _wp_datetime(value: str) -> datetime | None:
    """MySQL's "YYYY-MM-DD HH:MM:SS" as an aware UTC datetime; None for zero or junk."""
    if not value or value == ZERO_DATE:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _last_segment(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[-1] if segments else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

