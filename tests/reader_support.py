"""A reader's article page for browser tests: the real site, baked from a test database and
served with the API by a real `comments-service serve` process (development mode).

The site is the session's real build (site_support.real_site), copied, with the comments
section's data-order and data-poll set as the test asks (the mkdocs.yml options
thread_order and poll_seconds write them), then baked from the test's database.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import make_settings
from service_support import free_port
from site_support import real_site

from comments_service.config import Settings
from comments_service.site.bake import bake_site
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade

ARTICLE = "therapeutic-impasse"


@dataclass
class ReaderSite:
    """The running service, its site folder and a database handle for the test's writes."""

    url: str
    settings: Settings
    database: Database

    def article_url(self, fragment: str = "") -> str:
        return f"{self.url}/{ARTICLE}/{fragment}"


def _set_section(page: Path, order: str, poll: int) -> None:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'data-order="[a-z]+"', f'data-order="{order}"', html, count=1)
    html = re.sub(r'data-poll="\d+"', f'data-poll="{poll}"', html, count=1)
    # The tests' service writes no static thread files: the page asks the API alone.
    html = re.sub(r' data-static="[^"]*"', "", html, count=1)
    page.write_text(html, encoding="utf-8")


@contextmanager
def reader_site(tmp_path_factory, seed: Callable[[Database], object], *,  # type: ignore[no-untyped-def]
                order: str = "oldest", poll: int = 30, page_size: int = 50,
                **env: str) -> Iterator[ReaderSite]:
    """Build, seed, bake and serve; stops the service (by its PID) afterwards."""
    build = real_site(tmp_path_factory)
    assert build.returncode == 0, build.output
    base = tmp_path_factory.mktemp("reader")
    site_dir = base / "site"
    shutil.copytree(build.site_dir, site_dir)
    _set_section(site_dir / ARTICLE / "index.html", order, poll)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(base, site_dir=site_dir, site_url=f"{url}/", page_size=page_size,
                             static_threads=False, bake_debounce_seconds=0.2)
    database = Database(settings)
    upgrade(database)
    seed(database)
    bake_site(database, settings)

    variables = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    variables.update({
        "COMMENTS_MODE": "development", "COMMENTS_SECRET_KEY": settings.secret().decode(),
        "COMMENTS_VAR_DIR": str(settings.var_dir), "COMMENTS_DOCS_DIR": str(settings.docs_dir),
        "COMMENTS_SITE_DIR": str(site_dir), "COMMENTS_SITE_URL": f"{url}/",
        "COMMENTS_MIN_SUBMIT_SECONDS": "0", "COMMENTS_BAKE_DEBOUNCE_SECONDS": "0.2",
        "COMMENTS_PAGE_SIZE": str(page_size), "COMMENTS_STATIC_THREADS": "false",
        "COMMENTS_NOTIFY_INTERVAL_SECONDS": "0", **env,
    })
    log = base / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "comments_service.cli", "serve", "--port", str(port)],
            env=variables, cwd=base, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no /healthz: {log.read_text()}"
            time.sleep(0.2)
        yield ReaderSite(url=url, settings=settings, database=database)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        database.dispose()
