"""Baking: filling the marked comments section of built HTML pages with approved comments.

Works on any generated site: it only looks for the begin/end markers the article template
writes, and leaves every byte outside them as it was. SiteBaker bakes a built site's files
(the CLI and the service's re-baker); BuildBaker fills the same bytes into pages while
MkDocs renders them (the plugin).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import public_threads, spam
from comments_service.verbs.keyring import Keyring

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Bytes, not text: decoding and re-encoding could change line endings or odd bytes outside
# the markers, and the promise is that nothing outside them changes.
MARKER_RE = re.compile(
    rb'(<!-- comments:begin article="(?P<id>[a-z0-9-]+)" -->)(?P<inner>.*?)'
    rb'(<!-- comments:end article="(?P=id)" -->)',
    re.DOTALL,
)
BEGIN_NEEDLE = b"<!-- comments:begin "
# The same markers for a page MkDocs is still rendering (text, before it is encoded).
MARKER_TEXT_RE = re.compile(MARKER_RE.pattern.decode("ascii"), re.DOTALL)
BEGIN_TEXT = BEGIN_NEEDLE.decode("ascii")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)


def display_time(value: str) -> str:
    """An RFC 3339 UTC timestamp as readers see it: "26 November 2026, 09:00 UTC".

    comments.js formats the same way, so a baked comment and a live one read alike.
    """
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M} UTC"


def count_text(count: int) -> str:
    """The thread's count line."""
    if count == 0:
        return "No comments yet."
    return "1 comment" if count == 1 else f"{count} comments"


@dataclass
class BakeReport:
    """What one bake run did."""

    pages_scanned: int = 0
    pages_changed: list[Path] = field(default_factory=list)
    articles: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"baked {len(self.articles)} article(s): {len(self.pages_changed)} of "
            f"{self.pages_scanned} page(s) changed in {self.seconds * 1000:.0f} ms"
        )


class ThreadRenderer:
    """The _comments.html partial, compiled once and rendered per article."""

    def __init__(self, nosnippet: bool = True, signing_key: bytes | None = None) -> None:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
            keep_trailing_newline=True,
        )
        env.filters["display_time"] = display_time
        self.template = env.get_template("_comments.html")
        self.nosnippet = nosnippet
        self.signing_key = signing_key

    def render(
        self, public_comments: list[dict[str, Any]], article_id: str | None = None
    ) -> str:
        """The section's inner HTML for one article's approved comments (oldest first).

        With a signing key and article_id it also carries the no-JavaScript form's
        timestamp token (spam.form_token), issued at the start of the current UTC day so
        baking twice in a day writes the same bytes.
        """
        ids = {c["id"] for c in public_comments}
        children: dict[int, list[dict[str, Any]]] = defaultdict(list)
        roots: list[dict[str, Any]] = []
        for comment in public_comments:
            parent = comment.get("parent_id")
            # A reply whose parent is no longer public still shows, at the top level.
            if parent is not None and parent in ids:
                children[parent].append(comment)
            else:
                roots.append(comment)
        count = len(public_comments)
        token = None
        if self.signing_key is not None and article_id is not None:
            day_start = time.time() // 86400 * 86400
            token = spam.form_token(self.signing_key, article_id, now=day_start)
        return self.template.render(
            form_token=token,
            roots=roots,
            children=children,
            count=count,
            count_text=count_text(count),
            nosnippet=self.nosnippet,
        )


class SiteBaker:
    """Bakes one site folder; remembers which pages carry which article's markers.

    The index makes re-baking one article after a moderation action touch only its
    page(s) instead of reading the whole site.
    """

    def __init__(self, database: Database, site_dir: Path, nosnippet: bool = True) -> None:
        self.database = database
        self.site_dir = Path(site_dir)
        # The token's key comes from the same secret the service checks it with.
        signing_key = Keyring(database.settings.secret()).signing_key
        self.renderer = ThreadRenderer(nosnippet, signing_key)
        self._index: dict[str, set[Path]] | None = None

    def bake(self, article_id: str | None = None) -> BakeReport:
        """Fill every marked section (or only article_id's) with its approved comments."""
        started = time.perf_counter()
        report = BakeReport()
        if article_id is None:
            pages: Iterable[Path] = self._html_files()
            self._index = defaultdict(set)
        else:
            pages = sorted(self._pages_for(article_id))
        rendered: dict[str, bytes] = {}
        # One read session for the run: opening one per article costs more than the query.
        with self.database.read() as session:
            for path in pages:
                report.pages_scanned += 1
                self._bake_page(session, path, article_id, rendered, report)
        report.articles = set(rendered)
        report.seconds = time.perf_counter() - started
        return report

    def _html_files(self) -> list[Path]:
        return sorted(p for p in self.site_dir.rglob("*.html") if p.is_file())

    def _pages_for(self, article_id: str) -> set[Path]:
        if self._index is None:
            self._rebuild_index()
        paths = {p for p in self._index_get(article_id) if p.is_file()}
        if not paths:
            # The site may have been rebuilt since the index was made; look again.
            self._rebuild_index()
            paths = self._index_get(article_id)
        return paths

    def _index_get(self, article_id: str) -> set[Path]:
        return set(self._index.get(article_id, ())) if self._index is not None else set()

    def _rebuild_index(self) -> None:
        index: dict[str, set[Path]] = defaultdict(set)
        for path in self._html_files():
            for found in _article_ids(path.read_bytes()):
                index[found].add(path)
        self._index = index

    def _thread_html(self, session: Session, article_id: str, rendered: dict[str, bytes]) -> bytes:
        if article_id not in rendered:
            public = public_threads.list_public(session, article_id)
            rendered[article_id] = self.renderer.render(public, article_id).encode("utf-8")
        return rendered[article_id]

    def _bake_page(
        self, session: Session, path: Path, only: str | None, rendered: dict[str, bytes],
        report: BakeReport,
    ) -> None:
        original = path.read_bytes()
        if BEGIN_NEEDLE not in original:
            return
        found: set[str] = set()

        def fill(match: re.Match[bytes]) -> bytes:
            article_id = match["id"].decode("ascii")
            found.add(article_id)
            if only is not None and article_id != only:
                return match[0]
            return match[1] + b"\n" + self._thread_html(session, article_id, rendered) + match[4]

        baked = MARKER_RE.sub(fill, original)
        if self._index is not None:
            for article_id in found:
                self._index[article_id].add(path)
        if baked != original:
            write_atomically(path, baked)
            report.pages_changed.append(path)


def _article_ids(html: bytes) -> set[str]:
    if BEGIN_NEEDLE not in html:
        return set()
    return {m["id"].decode("ascii") for m in MARKER_RE.finditer(html)}


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path's contents so a reader or the static host never sees half a file."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # No fsync: readers never see a partial page thanks to the rename, and a page lost
        # to a power cut is rebuilt by the next bake; fsync per page would make a full
        # bake of a large site many times slower.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600; keep the page readable by the web server as it was.
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def bake_site(
    database: Database, site: Settings | Path | str, article_id: str | None = None
) -> BakeReport:
    """Bake a built site once: every marked page, or only the pages of article_id.

    ``site`` is the Settings (its site_dir and nosnippet are used) or a site folder.
    """
    if isinstance(site, Settings):
        baker = SiteBaker(database, site.site_dir, site.nosnippet)
    else:
        baker = SiteBaker(database, Path(site), database.settings.nosnippet)
    return baker.bake(article_id)


# Not under the "mkdocs" logger on purpose: in strict mode MkDocs aborts on any warning
# it counts, and a site must still build when the comments database is away.
build_log = logging.getLogger("comments_service.build")
NOT_BAKED = "comments were not baked, pages will load them live"


def _build_logger() -> logging.Logger:
    if not build_log.hasHandlers():
        # Under the mkdocs command nothing else would print it; match MkDocs' own format.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
        build_log.addHandler(handler)
        build_log.setLevel(logging.INFO)
    return build_log


def _open_build_database() -> Database | None:
    """The database COMMENTS_* settings name, or None (with one warning) when there is none."""
    log = _build_logger()
    try:
        settings = Settings()
    except ValueError as exc:
        log.warning("comments: settings are invalid (%s); %s", exc, NOT_BAKED)
        return None
    if settings.is_sqlite:
        db_file = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        if not db_file.is_file():
            log.warning("comments: no comments database at %s; %s", db_file, NOT_BAKED)
            return None
    return Database(settings)


def _warn_unreadable(exc: Exception) -> None:
    if isinstance(exc, SQLAlchemyError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        build_log.warning("comments: the comments database is unreachable (%s); %s",
                          reason, NOT_BAKED)
    else:  # RuntimeError: no secret key in production mode
        build_log.warning("comments: %s; %s", exc, NOT_BAKED)


class BuildBaker:
    """Bakes pages while MkDocs renders them, so no page is read and written twice.

    All public threads are read in one short transaction when the build starts; each
    page's section is then filled in memory with exactly the bytes SiteBaker would write,
    so a later `comments-service bake` of the same data changes nothing.
    """

    def __init__(self, threads: dict[str, list[dict[str, Any]]], renderer: ThreadRenderer,
                 read_seconds: float = 0.0) -> None:
        self.threads = threads
        self.renderer = renderer
        self.report = BakeReport(seconds=read_seconds)
        self._rendered: dict[str, str] = {}

    @classmethod
    def start(cls, nosnippet: bool = True) -> BuildBaker | None:
        """Read every public thread from the configured database; None (one warning) if not."""
        started = time.perf_counter()
        database = _open_build_database()
        if database is None:
            return None
        try:
            signing_key = Keyring(database.settings.secret()).signing_key
            with database.read() as session:
                threads = every_public_thread(session)
        except (RuntimeError, SQLAlchemyError) as exc:
            _warn_unreadable(exc)
            return None
        finally:
            database.dispose()
        return cls(threads, ThreadRenderer(nosnippet, signing_key),
                   time.perf_counter() - started)

    def fill(self, html: str) -> str:
        """The page with every marked comments section filled."""
        started = time.perf_counter()
        self.report.pages_scanned += 1
        if BEGIN_TEXT in html:
            html = MARKER_TEXT_RE.sub(self._section, html)
        self.report.seconds += time.perf_counter() - started
        return html

    def _section(self, match: re.Match[str]) -> str:
        article_id = match["id"]
        if article_id not in self._rendered:
            self._rendered[article_id] = self.renderer.render(
                self.threads.get(article_id, []), article_id)
        # The same layout as SiteBaker._bake_page writes.
        return match[1] + "\n" + self._rendered[article_id] + match[4]

    def finish(self) -> BakeReport:
        """What the build baked; logs one line."""
        self.report.articles = set(self._rendered)
        build_log.info("comments: baked %d article(s) into %d page(s) while building, in %.0f ms",
                       len(self.report.articles), self.report.pages_scanned,
                       self.report.seconds * 1000)
        return self.report


def every_public_thread(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every article's public comments: one query finds the articles that have any.

    Articles without approved comments (most pages of a large library) cost no query.
    """
    commented = session.scalars(
        select(Comment.article_id).where(Comment.status == CommentStatus.APPROVED).distinct()
    ).all()
    return {article_id: public_threads.list_public(session, article_id) for article_id in commented}
