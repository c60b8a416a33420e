"""Baking while MkDocs builds: every article page gets its comments as it is written.

The plugin opens the comments database once per build (when it can), reads every public
thread in one query, and fills each page's markers with the same bytes ``bake`` writes.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.config import Settings
from comments_service.site import static_threads
from comments_service.site.bake import (
    BEGIN_TEXT,
    MARKER_TEXT_RE,
    BakeReport,
    ClosedNotices,
    ThreadRenderer,
)
from comments_service.site.signposts import signposts_for
from comments_service.site.thread_section import (
    section_options,
)
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import pause, public_threads
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.pause import PauseState

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
                 read_seconds: float = 0.0, paused: PauseState | None = None,
                 closed: ClosedNotices | None = None, static_threads: bool = True) -> None:
        self.threads = threads
        self.renderer = renderer
        self.paused = paused or PauseState()
        self.closed = closed
        self.static_threads = static_threads
        self.report = BakeReport(seconds=read_seconds)
        self._rendered: dict[str, str] = {}

    @classmethod
    def start(cls, nosnippet: bool = True,
              language: str = i18n.DEFAULT_LANGUAGE) -> BuildBaker | None:
        """Read every public thread from the configured database; None (one warning) if not."""
        started = time.perf_counter()
        database = _open_build_database()
        if database is None:
            return None
        try:
            signing_key = Keyring(database.settings.secret()).signing_key
            with database.read() as session:
                threads = every_public_thread(session)
                paused = pause.state_in(session)
        except (RuntimeError, SQLAlchemyError) as exc:
            _warn_unreadable(exc)
            return None
        finally:
            database.dispose()
        return cls(threads, ThreadRenderer(nosnippet, signing_key,
                                           signposts_for(database.settings, language),
                                           database.settings.page_size, language),
                   time.perf_counter() - started, paused, ClosedNotices(database.settings),
                   database.settings.static_threads)

    def fill(self, html: str) -> str:
        """The page with every marked comments section filled."""
        started = time.perf_counter()
        self.report.pages_scanned += 1
        if BEGIN_TEXT in html:
            html = MARKER_TEXT_RE.sub(self._section, html)
        self.report.seconds += time.perf_counter() - started
        return html

    def _write_data(self, site_dir: Path) -> None:
        started = time.perf_counter()
        counts = {}
        for article_id in sorted(self._rendered):
            public = self.threads.get(article_id, [])
            counts[article_id] = len(public)
            path = static_threads.thread_path(site_dir, article_id)
            data = static_threads.thread_bytes(article_id, public)
            if static_threads.write_if_changed(path, data):
                self.report.data_changed.append(path)
        path = static_threads.data_dir(site_dir) / static_threads.COUNTS_FILE
        if static_threads.write_if_changed(path, static_threads.counts_bytes(counts)):
            self.report.data_changed.append(path)
        self.report.seconds += time.perf_counter() - started

    def _section(self, match: re.Match[str]) -> str:
        article_id = match["id"]
        if article_id not in self._rendered:
            self._rendered[article_id] = self.renderer.render(
                self.threads.get(article_id, []), article_id, self.paused,
                self.closed(article_id) if self.closed else "", section_options(match))
        # The same layout as SiteBaker._bake_page writes.
        return match[1] + "\n" + self._rendered[article_id] + match[4]

    def finish(self, site_dir: Path | None = None) -> BakeReport:
        """What the build baked; logs one line. With site_dir (and static_threads on), also
        writes each baked article's thread file and counts.json there, as SiteBaker does."""
        self.report.articles = set(self._rendered)
        if site_dir is not None and self.static_threads:
            self._write_data(Path(site_dir))
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
