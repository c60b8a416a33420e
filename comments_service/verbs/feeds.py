"""Atom 1.0 feeds of approved comments: one per article and one for the whole site.

Built from the public thread only (what the page shows: names, the safe HTML, times; staff
replies marked with a category), never an email or an IP. A comment with a content note
carries the note and a link, not its text: the page lets the reader choose to open it.
Cached per process like the thread: an article's feed under its thread version (through
``thread_cache``), the site's under the sum of every thread version, which any public
write anywhere moves.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comments_service.articles.article import Article
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, StaffUser, ThreadVersion
from comments_service.verbs import public_threads
from comments_service.verbs.thread_cache import ThreadCache

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
ARTICLE_FEED_ENTRIES = 50
SITE_FEED_ENTRIES = 50
MAX_CACHED_FEEDS = 512
STAFF_TERM = "staff"


@lru_cache(maxsize=1)
def _etree() -> ModuleType:
    # Loaded with the first feed (about 0.5 MB a process, with expat), not at every start.
    import xml.etree.ElementTree as tree

    tree.register_namespace("", ATOM_NS)
    return tree


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = _etree().SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


@dataclass(frozen=True)
class FeedEntry:
    """One approved comment as a feed shows it."""

    comment: dict[str, Any]
    article_title: str
    article_url: str


def _entry(feed: ET.Element, item: FeedEntry) -> None:
    comment = item.comment
    link = f"{item.article_url}#comment-{comment['id']}"
    entry = _el(feed, "entry")
    kind = "Staff reply" if comment["staff"] else "Comment"
    _el(entry, "title", f"{kind} by {comment['author']} on {item.article_title}")
    _el(entry, "id", link)
    _el(entry, "link", rel="alternate", type="text/html", href=link)
    _el(entry, "published", comment["created_at"])
    _el(entry, "updated", comment["created_at"])
    author = _el(entry, "author")
    _el(author, "name", comment["author"])
    if comment["staff"]:
        _el(entry, "category", term=STAFF_TERM, label="Staff reply")
    if comment.get("content_note"):
        _el(entry, "summary", f"Content note: {comment['content_note']}. Open the comment "
                              "on the page to read it.")
        return
    html = comment["body_html"]
    if comment["staff"] and comment.get("signature"):
        signature = _etree().Element("p")
        signature.text = comment["signature"]
        html += _etree().tostring(signature, encoding="unicode")
    _el(entry, "content", html, type="html")


def render_feed(feed_id: str, title: str, self_url: str, page_url: str,
                entries: Iterable[FeedEntry], fallback_updated: str) -> bytes:
    """A complete Atom document (UTF-8 bytes), entries in the order given (newest first)."""
    entries = list(entries)
    feed = _etree().Element(f"{{{ATOM_NS}}}feed")
    _el(feed, "id", feed_id)
    _el(feed, "title", title)
    _el(feed, "updated", max((e.comment["created_at"] for e in entries),
                             default=fallback_updated))
    _el(feed, "link", rel="self", type=ATOM_TYPE, href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=page_url)
    # Entries each name their author; this covers a feed that has none yet.
    author = _el(feed, "author")
    _el(author, "name", title)
    for item in entries:
        _entry(feed, item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + _etree().tostring(
        feed, encoding="utf-8", xml_declaration=False)


def article_feed(article: Article, comments: Iterable[dict[str, Any]], site_url: str,
                 service_url: str) -> bytes:
    """The article's newest approved comments."""
    page_url = f"{site_url.rstrip('/')}/{article.url_path}"
    newest = sorted(comments, key=lambda c: (c["created_at"], c["id"]),
                    reverse=True)[:ARTICLE_FEED_ENTRIES]
    return render_feed(
        f"{page_url}#comments", f"Comments on {article.title}",
        f"{service_url}/api/articles/{article.id}/comments.atom", f"{page_url}#comments",
        (FeedEntry(c, article.title, page_url) for c in newest),
        f"{article.updated.isoformat()}T00:00:00Z")


def newest_public(session: Session, limit: int) -> list[tuple[str, dict[str, Any]]]:
    """The newest approved comments on the whole site: (article_id, public shape) pairs."""
    rows = session.execute(
        select(Comment.id, Comment.article_id, Comment.author_name, Comment.body_html,
               Comment.created_at, Comment.is_staff, Comment.erased, Comment.content_note,
               StaffUser.display_name, StaffUser.signature)
        .outerjoin(StaffUser, StaffUser.id == Comment.staff_user_id)
        .where(Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)).all()
    found = []
    for row in rows:
        if row.is_staff:
            author, signature = row.display_name or row.author_name, row.signature or None
        else:
            author = public_threads.FORMER_READER if row.erased else row.author_name
            signature = None
        found.append((row.article_id, {
            "id": row.id, "author": author, "body_html": row.body_html,
            "created_at": public_threads.rfc3339(row.created_at), "staff": bool(row.is_staff),
            "signature": signature, "content_note": row.content_note or None}))
    return found


def site_version(session: Session) -> int:
    """A number every public write moves: the sum of the articles' thread versions."""
    # Rows whose key starts with "_" are not articles (the health probe's heartbeat).
    return int(session.scalar(
        select(func.coalesce(func.sum(ThreadVersion.version), 0))
        .where(func.substr(ThreadVersion.article_id, 1, 1) != "_")) or 0)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FeedCache:
    """Feed bytes and ETags per process, keyed like the threads they come from."""

    def __init__(self, database: Database, threads: ThreadCache) -> None:
        self.database = database
        self.threads = threads
        self._lock = threading.Lock()
        self._feeds: OrderedDict[str, tuple[int, bytes, str]] = OrderedDict()

    def _remember(self, key: str, version: int, body: bytes) -> tuple[bytes, str]:
        with self._lock:
            self._feeds[key] = (version, body, etag_of(body))
            self._feeds.move_to_end(key)
            while len(self._feeds) > MAX_CACHED_FEEDS:
                self._feeds.popitem(last=False)
            return body, self._feeds[key][2]

    def _cached(self, key: str, version: int) -> tuple[bytes, str] | None:
        with self._lock:
            found = self._feeds.get(key)
        if found is not None and found[0] == version:
            return found[1], found[2]
        return None

    def article(self, article: Article) -> tuple[bytes, str]:
        """The article's feed as of its current thread version."""
        thread = self.threads.thread(article.id)
        key = f"article:{article.id}"
        cached = self._cached(key, thread.version)
        if cached is not None:
            return cached
        settings = self.database.settings
        # The cache keeps the thread as the API's bytes; a feed is rebuilt only when the
        # thread version moves, so decoding them here costs nothing per reader.
        comments = json.loads(thread.body)["comments"]
        body = article_feed(article, comments, settings.site_url, settings.public_service_url)
        return self._remember(key, thread.version, body)

    def site(self, articles: Any) -> tuple[bytes, str]:
        """The whole site's newest approved comments; ``articles`` is the catalog."""
        with self.database.read() as session:
            version = site_version(session)
            cached = self._cached("site", version)
            if cached is not None:
                return cached
            newest = newest_public(session, SITE_FEED_ENTRIES * 2)
        settings = self.database.settings
        site = settings.site_url.rstrip("/")
        entries = []
        for article_id, comment in newest:
            article = articles.get(article_id)
            # Hidden articles keep their comments off every public page, feeds included.
            if article is None or article.comments == "hidden":
                continue
            entries.append(FeedEntry(comment, article.title, f"{site}/{article.url_path}"))
        body = render_feed(f"{site}/#comments", "Newest comments",
                           f"{settings.public_service_url}/api/comments.atom", f"{site}/",
                           entries[:SITE_FEED_ENTRIES], "1970-01-01T00:00:00Z")
        return self._remember("site", version, body)
