"""Helpers for the site tests: build the real site with MkDocs, copy it, parse its pages."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
SITE_SOURCES = ("docs", "overrides", "mkdocs.yml")


@dataclass(frozen=True)
class BuildResult:
    returncode: int
    output: str
    site_dir: Path


def build_env(var_dir: Path) -> dict[str, str]:
    """The environment for a test build: no comments database, so nothing is baked in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env["COMMENTS_VAR_DIR"] = str(var_dir)
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


def mkdocs_build(
    project: Path, site_dir: Path, var_dir: Path, extra_env: dict[str, str] | None = None
) -> BuildResult:
    """Run `mkdocs build --strict` on project/mkdocs.yml into site_dir."""
    env = build_env(var_dir) | (extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(project / "mkdocs.yml"),
         "-d", str(site_dir)],
        capture_output=True, text=True, env=env, cwd=project, timeout=300,
    )
    return BuildResult(proc.returncode, proc.stdout + proc.stderr, site_dir)


def copy_project(dest: Path) -> Path:
    """Copy docs/, overrides/ and mkdocs.yml so a test can break them without harm."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SITE_SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        else:
            shutil.copy2(source, dest / name)
    return dest


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html5lib")


def page_path(site_dir: Path, url_path: str) -> Path:
    """The built file for a site-relative URL such as 'therapeutic-impasse/'."""
    return site_dir / url_path / "index.html" if url_path.endswith("/") or not url_path \
        else site_dir / url_path


_REAL_SITE: dict[str, BuildResult] = {}


def real_site(tmp_path_factory) -> BuildResult:  # type: ignore[no-untyped-def]
    """The repository's site, built once per test session whichever module asks first."""
    if "site" not in _REAL_SITE:
        base = tmp_path_factory.mktemp("real-site")
        _REAL_SITE["site"] = mkdocs_build(REPO, base / "site", base / "var")
    return _REAL_SITE["site"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def served(site_dir: Path) -> Iterator[str]:
    """Serve a built site on a free 127.0.0.1 port; yields its base URL (ending in /)."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
