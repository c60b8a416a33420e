"""Baking: filling the marked comments section of built HTML pages with approved comments.

Works on any generated site: it only looks for the begin/end markers the article template
writes, and leaves every byte outside them as it was. SiteBaker bakes a built site's files
(the CLI and the service's re-baker); BuildBaker fills the same bytes into pages while
MkDocs renders them (the plugin).
"""

from __future__ import annotations

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
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.site import static_threads
from comments_service.site.signposts import Signposts, signposts_for
from comments_service.site.thread_section import (
    TEXT as SECTION_TEXT,
)
from comments_service.site.thread_section import (
    SectionOptions,
    first_page,
    reply_url,
    section_options,
    thread_url,
)
from comments_service.store.database import Database
from comments_service.verbs import closing, pause, public_threads, spam
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.pause import PauseState

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


def display_time(value: str, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """An RFC 3339 UTC timestamp as readers see it: "26 November 2026, 09:00 UTC".

    The <time datetime> beside it lets comments.js show it in the reader's own time zone.
    """
    return i18n.Translator(language).datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))


def count_text(count: int, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """The thread's count line."""
    t = i18n.Translator(language)
    if count == 0:
        return t.gettext("No comments yet.")
    return t.ngettext("%(num)d comment", "%(num)d comments", count)


@dataclass
class BakeReport:
    """What one bake run did."""

    pages_scanned: int = 0
    pages_changed: list[Path] = field(default_factory=list)
    # Static thread files (static_threads) written or removed: published like the pages.
    data_changed: list[Path] = field(default_factory=list)
    articles: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def files_changed(self) -> list[Path]:
        """Every file the bake changed: the pages, then the static thread data."""
        return [*self.pages_changed, *self.data_changed]

    def summary(self) -> str:
        data = f", {len(self.data_changed)} data file(s)" if self.data_changed else ""
        return (
            f"baked {len(self.articles)} article(s): {len(self.pages_changed)} of "
            f"{self.pages_scanned} page(s) changed{data} in {self.seconds * 1000:.0f} ms"
        )


class ThreadRenderer:
    """The _comments.html partial, compiled once and rendered per article."""

    def __init__(self, nosnippet: bool = True, signing_key: bytes | None = None,
                 signposts: Signposts | None = None, page_size: int | None = None,
                 language: str = i18n.DEFAULT_LANGUAGE) -> None:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
            keep_trailing_newline=True,
        )
        # The page's language (theme.language at build, COMMENTS_LANGUAGE when re-baked).
        self.language = i18n.normalise(language)
        i18n.install(env, self.language)
        self.translator = i18n.Translator(self.language)
        env.filters["display_time"] = lambda value: display_time(value, self.language)
        self.template = env.get_template("_comments.html")
        self.nosnippet = nosnippet
        self.signing_key = signing_key
        self.signposts = signposts
        # None: every comment on the page (a renderer used outside a baked section).
        self.page_size = page_size

    def render(
        self, public_comments: list[dict[str, Any]], article_id: str | None = None,
        paused: PauseState | None = None, closed_notice: str = "",
        options: SectionOptions | None = None,
    ) -> str:
        """The section's inner HTML for one article's approved comments (oldest first).

        With a signing key and article_id it also carries the no-JavaScript form's
        timestamp token (spam.form_token), issued at the start of the current UTC day so
        baking twice in a day writes the same bytes. While ``paused`` is on, it carries the
        paused notice with the crisis resources, which hides the form (comments.css);
        ``closed_notice`` (read-only site, or closed by age) hides it the same way.
        With ``options`` (the page's section, thread_section) and a page size, only the
        first page is baked, in the section's order, with a link to the rest and a reply
        link per comment that works without JavaScript.
        """
        count = len(public_comments)
        more_url = reply_href = None
        if options is not None and article_id is not None and self.page_size is not None:
            public_comments, more = first_page(public_comments, options, self.page_size)
            more_url = thread_url(options, article_id, 2) if more else None
            if options.open:
                reply_href = {c["id"]: reply_url(options, article_id, c["id"])
                              for c in public_comments}
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
        token = None
        if self.signing_key is not None and article_id is not None:
            day_start = time.time() // 86400 * 86400
            token = spam.form_token(self.signing_key, article_id, now=day_start)
        paused_html = ""
        if paused is not None and paused.paused and self.signposts is not None:
            paused_html = self.signposts.paused_block(paused.reader_message)
        return self.template.render(
            paused_html=paused_html,
            # The notices are catalogue messages (closing.py): in the page's language.
            closed_notice=self.translator.gettext(closed_notice) if closed_notice else "",
            form_token=token,
            roots=roots,
            children=children,
            count=count,
            count_text=count_text(count, self.language),
            nosnippet=self.nosnippet,
            more_url=more_url,
            more_text=self.translator.gettext(SECTION_TEXT["more"]),
            more_count=self.translator.gettext(SECTION_TEXT["shown"]).format(
                shown=len(public_comments), count=count),
            reply_href=reply_href,
            # The no-JavaScript report page; comments.js builds the same link.
            report_base=options.service if options is not None else "",
        )


class ClosedNotices:
    """Per article, the closed notice a baked page shows instead of the form ("" for none).

    The docs are read only when closing by age is on: the read-only switch needs no article.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._catalog: Catalog | None = None

    def __call__(self, article_id: str) -> str:
        article = None
        if self.settings.close_after_days > 0:
            if self._catalog is None:
                self._catalog = Catalog(self.settings.docs_dir)
            article = self._catalog.get(article_id)
        return closing.page_notice(self.settings, article)


class SiteBaker:
    """Bakes one site folder; remembers which pages carry which article's markers.

    The index makes re-baking one article after a moderation action touch only its
    page(s) instead of reading the whole site.
    """

    def __init__(self, database: Database, site_dir: Path, nosnippet: bool = True) -> None:
        self.database = database
        self.site_dir = Path(site_dir)
        self.static_threads = database.settings.static_threads
        # The token's key comes from the same secret the service checks it with.
        signing_key = Keyring(database.settings.secret()).signing_key
        language = i18n.resolve(database.settings.language, self.site_dir)
        self.renderer = ThreadRenderer(nosnippet, signing_key,
                                       signposts_for(database.settings, language),
                                       database.settings.page_size, language)
        self._index: dict[str, set[Path]] | None = None
        self._paused = PauseState()
        # This run's public threads, by article: the static data is written from them.
        self._threads: dict[str, list[dict[str, Any]]] = {}
        # On a whole-site bake, the articles that have approved comments (one query): the
        # others' threads are known to be empty, and querying each of a large library's
        # thousands of quiet articles was most of the bake's time.
        self._commented: dict[str, int] | None = None
        self._closed = ClosedNotices(database.settings)

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
        self._threads = {}
        # One read session for the run: opening one per article costs more than the query.
        with self.database.read() as session:
            self._paused = pause.state_in(session)
            self._commented = (static_threads.approved_by_article(session)
                               if article_id is None else None)
            for path in pages:
                report.pages_scanned += 1
                self._bake_page(session, path, article_id, rendered, report)
            if self.static_threads:
                self._write_data(session, report)
        if not self.static_threads:
            report.data_changed.extend(static_threads.remove_all(self.site_dir))
        report.articles = set(rendered)
        report.seconds = time.perf_counter() - started
        return report

    def _write_data(self, session: Session, report: BakeReport) -> None:
        """Each baked article's thread file, then counts.json if any count moved."""
        if not self._threads:
            return
        for article_id, public in self._threads.items():
            path = static_threads.thread_path(self.site_dir, article_id)
            if static_threads.write_if_changed(
                    path, static_threads.thread_bytes(article_id, public)):
                report.data_changed.append(path)
        # Every article that has a page, so an index page finds each count in one file.
        ids = set(self._index or ()) | set(self._threads)
        counts = static_threads.approved_counts(session, ids)
        path = static_threads.data_dir(self.site_dir) / static_threads.COUNTS_FILE
        if static_threads.write_if_changed(path, static_threads.counts_bytes(counts)):
            report.data_changed.append(path)

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

    def _thread_html(self, session: Session, article_id: str, rendered: dict[str, bytes],
                     options: SectionOptions | None = None) -> bytes:
        if article_id not in rendered:
            if self._commented is not None and article_id not in self._commented:
                public: list[dict[str, Any]] = []
            else:
                public = public_threads.list_public(session, article_id)
            self._threads[article_id] = public
            rendered[article_id] = self.renderer.render(
                public, article_id, self._paused, self._closed(article_id),
                options).encode("utf-8")
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
            html = self._thread_html(session, article_id, rendered, section_options(match))
            return match[1] + b"\n" + html + match[4]

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
