"""Big threads: page weight and time to render an article with 50, 1,000 and 5,000 comments.

The repository's site is built once without a database; then, for each size, the article's
thread is replaced by that many approved comments (every fifth a reply), the page is baked
(its first page of COMMENTS_PAGE_SIZE top-level comments, with a link to the rest) and
loaded in Chromium from a real `comments-service serve` (development mode: site and API on
one origin). Measured: the gzipped HTML, what the whole thread would weigh baked into the
page (the shape before paging, for comparison), the bake, the browser's load event, the
moment the script has the thread from the API and the page's element count.

The full run adds these figures to its notes, after the site phase; alone:
`.venv/bin/python benchmarks/run.py --big-threads-only` (a table, in about a minute).
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete, insert

from .servers import REPO

SIZES = (50, 1000, 5000)
ARTICLE = "therapeutic-impasse"
SECRET = "big-threads-benchmark-secret-long-enough-0123456789"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class BigThread:
    """One thread size's figures."""

    comments: int
    html_gz: int
    whole_thread_html_gz: int
    bake_ms: float
    load_ms: float
    thread_ready_ms: float
    elements: int

    def row(self) -> str:
        return (f"| {self.comments:,} | {self.html_gz / 1024:.1f} KB | "
                f"{self.whole_thread_html_gz / 1024:.1f} KB | {self.bake_ms:.0f} ms | "
                f"{self.load_ms:.0f} ms | {self.thread_ready_ms:.0f} ms | {self.elements:,} |")


HEADER = ("| comments | article HTML, gzipped | the whole thread baked (before paging) | bake "
          "| load event | thread from the API | page elements |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")


def _seed(database, count: int) -> None:  # type: ignore[no-untyped-def]
    """Replace the article's thread by ``count`` approved comments (fictional)."""
    from comments_service.store import thread_versions
    from comments_service.store.models import Comment, CommentStatus

    table = Comment.__table__
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with database.write() as session:
        session.execute(delete(table).where(table.c.article_id == ARTICLE))
        root = None
        for n in range(count):
            at = start + timedelta(minutes=n)
            reply = n % 5 == 4 and root is not None
            values = dict(article_id=ARTICLE, parent_id=root if reply else None,
                          depth=1 if reply else 0, author_name=f"Reader {n}",
                          body=f"Comment {n}: a few sentences a reader might write.",
                          body_html=f"<p>Comment {n}: a few sentences a reader might "
                                    "write.</p>",
                          status=CommentStatus.APPROVED, created_at=at, updated_at=at)
            new_id = session.execute(insert(table).values(**values)
                                     .returning(table.c.id)).scalar_one()
            if not reply:
                root = new_id
        thread_versions.touch_thread(session, ARTICLE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(work: Path, sizes: tuple[int, ...] = SIZES) -> list[BigThread]:
    """Build, then for each size seed, bake, serve and load the article; the figures."""
    from playwright.sync_api import sync_playwright

    from comments_service.config import Settings
    from comments_service.site.bake import ThreadRenderer, bake_site
    from comments_service.store.database import Database
    from comments_service.store.migrate import upgrade
    from comments_service.verbs import public_threads

    work.mkdir(parents=True, exist_ok=True)
    site = work / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(site)], env={**env, "COMMENTS_VAR_DIR": str(work / "no-db"),
                                "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True, text=True, timeout=600, check=False)
    if built.returncode != 0:
        raise RuntimeError(f"mkdocs build failed: {built.stdout}{built.stderr}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    variables = {"COMMENTS_MODE": "development", "COMMENTS_SECRET_KEY": SECRET,
                 "COMMENTS_VAR_DIR": str(work / "var"), "COMMENTS_DOCS_DIR": str(REPO / "docs"),
                 "COMMENTS_SITE_DIR": str(site), "COMMENTS_SITE_URL": f"{url}/",
                 "COMMENTS_STATIC_THREADS": "false", "COMMENTS_NOTIFY_INTERVAL_SECONDS": "0"}
    settings = Settings(**{k.removeprefix("COMMENTS_").lower(): v  # type: ignore[arg-type]
                           for k, v in variables.items()})
    database = Database(settings)
    upgrade(database)
    log = work / "service.log"
    with log.open("wb") as out:
        service = subprocess.Popen(
            [sys.executable, "-m", "comments_service.cli", "serve", "--port", str(port)],
            env={**env, **variables}, cwd=work, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    figures: list[BigThread] = []
    try:
        _wait_healthy(url, service, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for size in sizes:
                    figures.append(_one_size(size, database, settings, site, url, browser,
                                             bake_site, ThreadRenderer, public_threads))
            finally:
                browser.close()
    finally:
        if service.poll() is None:
            os.killpg(service.pid, signal.SIGTERM)
            service.wait(timeout=20)
        database.dispose()
    return figures


def _one_size(size, database, settings, site, url, browser, bake_site,  # type: ignore[no-untyped-def]
              renderer_class, public_threads) -> BigThread:
    _seed(database, size)
    started = time.perf_counter()
    bake_site(database, settings, ARTICLE)
    bake_ms = (time.perf_counter() - started) * 1000
    html = (site / ARTICLE / "index.html").read_bytes()
    with database.read() as session:
        every = public_threads.list_public(session, ARTICLE)
    # The page as it was baked before paging: every comment between the markers.
    whole = renderer_class().render(every, ARTICLE).encode()
    section = html.split(b"<!-- comments:begin", 1)[1].split(b"<!-- comments:end", 1)[0]
    whole_gz = len(gzip.compress(html.replace(section, whole), 6))
    page = browser.new_page()
    try:
        with page.expect_response(lambda r: f"/api/articles/{ARTICLE}/comments" in r.url):
            page.goto(f"{url}/{ARTICLE}/", wait_until="load")
        ready = page.evaluate("new Promise(r => requestAnimationFrame(() => r(performance.now())))")
        load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        elements = page.evaluate("document.getElementsByTagName('*').length")
    finally:
        page.close()
    return BigThread(size, len(gzip.compress(html, 6)), whole_gz, bake_ms, load, ready,
                     elements)


def _wait_healthy(url: str, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise RuntimeError(f"the service exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service did not answer /healthz: {log.read_text()}")


def report(figures: list[BigThread]) -> str:
    """The figures as a Markdown table."""
    return "\n".join([HEADER, *(f.row() for f in figures)])


def main(work: Path) -> int:
    """Measure in ``work`` (removed afterwards) and print the table."""
    try:
        print(report(measure(work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
