"""Site figures: mkdocs build time (ours vs stock Material), bake, re-bake, page weight."""

from __future__ import annotations

import gzip
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .servers import REPO, VENV_BIN, OursConfig, Workspace, ours_env

STOCK_CONFIG = """\
# Stock Material for MkDocs: same articles and Markdown extensions, no plugin of ours,
# no overrides, default plugins (search).
site_name: Benchmark library (stock Material)
site_url: http://127.0.0.1:8000/
docs_dir: {docs}
site_dir: {site}
theme:
  name: material
  font: false
markdown_extensions:
  - abbr
  - admonition
  - attr_list
  - def_list
  - footnotes
  - md_in_html
  - tables
  - toc:
      permalink: true
  - pymdownx.details
  - pymdownx.smartsymbols
  - pymdownx.superfences
  - pymdownx.tilde
"""

OURS_CONFIG = """\
# The project's own mkdocs.yml (plugins, overrides, strict), on the generated articles.
INHERIT: {repo}/mkdocs.yml
docs_dir: {docs}
site_dir: {site}
"""


@dataclass
class SiteFigures:
    articles: int = 0
    build_ours_s: float = float("nan")
    build_stock_s: float = float("nan")
    build_ours_cpu_s: float = float("nan")
    build_stock_cpu_s: float = float("nan")
    bake_cli_s: float = float("nan")
    bake_inprocess_s: float = float("nan")
    bake_pages: int = 0
    rebake_ms: float = float("nan")
    approve_and_rebake_ms: float = float("nan")
    page_url: str = ""
    page_total_gz: int = 0
    page_by_type: dict[str, int] = field(default_factory=dict)
    script_gz: int = 0
    third_party: list[str] = field(default_factory=list)
    page_method: str = ""
    lighthouse_performance: float | None = None
    lighthouse_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def build_ratio(self) -> float:
        return self.build_ours_s / self.build_stock_s


def log(message: str) -> None:
    """A progress line on stderr as results.log prints them (which imports this module)."""
    from .results import log as results_log

    results_log(message)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _mkdocs(config: Path, env: dict[str, str]) -> tuple[float, float]:
    """One build: its wall time and its CPU time (user + system), in seconds.

    The CPU time is printed beside the wall time because on a machine shared with other
    work the wall time of a long build measures the neighbours as much as the build.
    """
    started, cpu_before = time.perf_counter(), _children_cpu_s()
    done = subprocess.run([str(VENV_BIN / "mkdocs"), "build", "-q", "-f", str(config)],
                          env={**env, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True,
                          text=True, check=False)
    elapsed, cpu = time.perf_counter() - started, _children_cpu_s() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"mkdocs build -f {config} failed:\n{done.stdout}\n{done.stderr}")
    log(f"mkdocs build -f {config.name}: {elapsed:.1f} s wall, {cpu:.1f} s CPU, "
        f"load average {os.getloadavg()[0]:.1f}")
    return elapsed, cpu


def build_sites(ws: Workspace, docs: Path, config: OursConfig, figures: SiteFigures,
                runs: int) -> tuple[Path, Path]:
    """Build the same docs with our config and with stock Material, alternating, best of runs.

    Our build runs with the benchmark database configured, so the plugin's after-build
    bake is part of its time, as it is for an editor.
    """
    folder = ws.root / "sitebench"
    folder.mkdir(parents=True, exist_ok=True)
    # custom_dir in the inherited config is relative to the config file's folder.
    overrides = folder / "overrides"
    if not overrides.exists():
        overrides.symlink_to(REPO / "overrides")
    ours_site, stock_site = folder / "site-ours", folder / "site-stock"
    ours_cfg, stock_cfg = folder / "mkdocs-ours.yml", folder / "mkdocs-stock.yml"
    ours_cfg.write_text(OURS_CONFIG.format(repo=REPO, docs=docs, site=ours_site))
    stock_cfg.write_text(STOCK_CONFIG.format(docs=docs, site=stock_site))
    env = ours_env(config)
    ours_times, stock_times = [], []
    for _ in range(runs):
        stock_times.append(_mkdocs(stock_cfg, env))
        ours_times.append(_mkdocs(ours_cfg, env))
    figures.build_ours_s = min(wall for wall, _ in ours_times)
    figures.build_stock_s = min(wall for wall, _ in stock_times)
    figures.build_ours_cpu_s = min(cpu for _, cpu in ours_times)
    figures.build_stock_cpu_s = min(cpu for _, cpu in stock_times)
    figures.notes.append(
        f"mkdocs build of {figures.articles} articles: ours "
        f"{', '.join(f'{w:.1f}' for w, _ in ours_times)} s wall "
        f"({', '.join(f'{c:.1f}' for _, c in ours_times)} s CPU), stock "
        f"{', '.join(f'{w:.1f}' for w, _ in stock_times)} s wall "
        f"({', '.join(f'{c:.1f}' for _, c in stock_times)} s CPU), best of {runs} taken; "
        f"CPU ratio {figures.build_ours_cpu_s / figures.build_stock_cpu_s:.2f}x")
    return ours_site, stock_site


def bake_figures(ws: Workspace, site: Path, config: OursConfig, figures: SiteFigures,
                 rebake_article: str, approve_ids: list[int]) -> None:
    """`comments-service bake` of the whole site, then in-process re-bakes of one page."""
    env = ours_env(config)
    started, cpu_before = time.perf_counter(), _children_cpu_s()
    done = subprocess.run([str(VENV_BIN / "comments-service"), "bake", str(site)], env=env,
                          capture_output=True, text=True, check=False)
    figures.bake_cli_s = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"comments-service bake failed:\n{done.stdout}\n{done.stderr}")
    figures.notes.append(f"bake CLI: {figures.bake_cli_s:.2f} s wall, {cpu:.2f} s CPU: "
                         f"{done.stdout.strip() or done.stderr.strip()}")
    log(figures.notes[-1])

    from comments_service.site.bake import SiteBaker
    from comments_service.store.database import Database
    from comments_service.verbs.keyring import Keyring
    from comments_service.verbs.moderation import Actor, Moderation

    settings = config.settings()
    database = Database(settings)
    try:
        baker = SiteBaker(database, site, settings.nosnippet)
        report = baker.bake()
        figures.bake_inprocess_s = report.seconds
        figures.bake_pages = report.pages_scanned
        moderation = Moderation(database, Keyring(settings.secret()))
        rebakes, totals = [], []
        for comment_id in approve_ids:
            started = time.perf_counter()
            moderation.approve(comment_id, Actor.operator("benchmark"))
            mid = time.perf_counter()
            report = baker.bake(rebake_article)
            end = time.perf_counter()
            if not report.pages_changed:
                raise RuntimeError("re-bake after an approval changed no page")
            rebakes.append((end - mid) * 1000)
            totals.append((end - started) * 1000)
        if rebakes:
            figures.rebake_ms = statistics.median(rebakes)
            figures.approve_and_rebake_ms = statistics.median(totals)
            figures.notes.append(
                f"re-bake of one page after an approval: median {figures.rebake_ms:.1f} ms of "
                f"{len(rebakes)}, max {max(rebakes):.1f} ms (in a long-running process, page "
                "index warm)")
            log(figures.notes[-1])
    finally:
        database.dispose()


def page_weight(ws: Workspace, site: Path, page: str, figures: SiteFigures) -> None:
    """Load the article page in Chromium from a gzip static server; sum what travelled."""
    figures.page_url = page
    script = site / "assets" / "comments" / "comments.js"
    if script.exists():
        figures.script_gz = len(gzip.compress(script.read_bytes(), compresslevel=6))
    server = ws.start("static-gzip", [sys.executable, str(REPO / "scripts" / "serve_gzip.py"),
                                      str(site), "--port", "0"])
    try:
        base = _wait_serving(server)
        try:
            _browser_weight(base + page, figures)
            figures.page_method = "Chromium load via scripts/serve_gzip.py (gzip level 6)"
        except Exception as exc:  # no browser: count the files the HTML names
            figures.notes.append(f"browser page weight failed ({exc}); counted files instead")
            _static_weight(site, page, figures)
            figures.page_method = "files named by the HTML, gzip level 6"
    finally:
        ws.stop(server)


def _wait_serving(server: procs.Managed) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        match = re.search(r"^serving (\S+)", server.log_path.read_text(errors="replace"), re.M)
        if match:
            return match.group(1)
        if not server.alive():
            break
        time.sleep(0.1)
    raise RuntimeError(f"serve_gzip.py did not start:\n{server.log_tail()}")


def _browser_weight(url: str, figures: SiteFigures) -> None:
    from playwright.sync_api import sync_playwright

    responses = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("requestfinished", lambda request: responses.append(request))
            page.goto(url, wait_until="networkidle")
            page.wait_for_timeout(500)
            by_type: dict[str, int] = {}
            third: list[str] = []
            others: list[tuple[int, str, str]] = []
            for request in responses:
                host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", request.url)
                if request.url.startswith("data:"):
                    continue
                if host not in ("127.0.0.1", "localhost"):
                    third.append(request.url)
                sizes = request.sizes()
                kind = request.resource_type
                by_type[kind] = by_type.get(kind, 0) + sizes["responseBodySize"]
                if kind not in ("document", "stylesheet", "script"):
                    others.append((sizes["responseBodySize"], kind, request.url))
        finally:
            browser.close()
    figures.page_by_type = by_type
    figures.page_total_gz = sum(v for k, v in by_type.items()
                                if k in ("document", "stylesheet", "script"))
    figures.third_party = third
    for size, kind, url in sorted(others, reverse=True)[:3]:
        if size >= 1024:
            figures.notes.append(f"page also loaded {kind} {url.split('/', 3)[-1]}: "
                                 f"{size / 1024:.1f} KB (not HTML/CSS/JS)")


def _static_weight(site: Path, page: str, figures: SiteFigures) -> None:
    html_path = site / page / "index.html"
    html = html_path.read_text(encoding="utf-8")
    by_type = {"document": len(gzip.compress(html.encode(), compresslevel=6))}
    third = []
    for kind, pattern in (("stylesheet", r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"'),
                          ("script", r'<script[^>]+src="([^"]+)"')):
        for ref in re.findall(pattern, html):
            if re.match(r"^(https?:)?//", ref):
                third.append(ref)
                continue
            path = (html_path.parent / ref.split("?")[0]).resolve()
            if path.exists():
                by_type[kind] = by_type.get(kind, 0) + len(
                    gzip.compress(path.read_bytes(), compresslevel=6))
    figures.page_by_type = by_type
    figures.page_total_gz = sum(by_type.values())
    figures.third_party = third


def lighthouse(site: Path, page: str, figures: SiteFigures, ws: Workspace, docs: Path,
               config: OursConfig | None = None) -> None:
    """Run the project's Lighthouse script on our baked site, if it is there.

    The script starts a throwaway service for the page's live comment fetch; it is pointed
    at the generated docs so that it knows the article (else the fetch 404s and Lighthouse
    counts a console error), and, given config, at a copy of the benchmark's database, so
    that the fetch finds the thread baked into the page, as it does in production. (With
    an empty database the script would remove the 50 baked comments from the page while
    Lighthouse watches.)
    """
    script = REPO / "scripts" / "lighthouse_check.sh"
    if not script.exists():
        figures.lighthouse_note = "scripts/lighthouse_check.sh is missing"
        return
    report = ws.root / "lighthouse.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update({"SITE_DIR": str(site), "LH_JSON": str(report), "LH_MIN_PERFORMANCE": "98",
                "COMMENTS_DOCS_DIR": str(docs)})
    if config is not None:
        env["COMMENTS_DATABASE_URL"] = _database_copy(config, ws.root / "lighthouse.db")
    done = subprocess.run(["bash", str(script), page], env=env, capture_output=True, text=True,
                          check=False, timeout=600, cwd=REPO)
    if report.exists():
        import json

        data = json.loads(report.read_text())
        figures.lighthouse_performance = round(data["categories"]["performance"]["score"] * 100)
        figures.lighthouse_note = " ".join(done.stdout.split()[-40:])
    else:
        figures.lighthouse_note = (done.stdout + done.stderr).strip()[-300:]


def _database_copy(config: OursConfig, dest: Path) -> str:
    """A SQLite copy of the benchmark's database for a throwaway service; its URL.

    A copy, so the throwaway service's migrations and re-baker touch nothing of the run's;
    the copy's re-bake queue is emptied so it rewrites no page while Lighthouse runs.
    """
    import sqlite3

    url = config.settings().resolved_database_url
    if not url.startswith("sqlite:///"):
        return url
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        target.execute("DELETE FROM bake_requests")
        target.commit()
    finally:
        target.close()
        source.close()
    return f"sqlite:///{dest}"
