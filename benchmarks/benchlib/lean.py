"""Lean at every scale (part of --memory-only): one process, static threads, freshness.

After the 2-process tree's idle memory, the run starts `serve --workers 1` (the app in the
serving process) on the same database, Isso seeded as usual, and nginx serving a small
site folder whose page the service bakes: its idle memory, a short read pass of each (our
API from the one process, Isso's thread, nginx serving the static thread JSON the bake
wrote), and how long a staff action takes to reach that static JSON through nginx.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
import urllib.parse
from pathlib import Path

from benchlib import isso_server, procs, servers, wrk
from benchlib.passes import measure_memory, post_held, rotate
from benchlib.report import Target
from benchlib.results import Endpoint, Results, log

GROUP = "GET thread, lean"
ONE = "ours 1 process"
TREE_RSS_MB = 200
PAGE = ('<!doctype html><title>{id}</title><main>\n<!-- comments:begin article="{id}" -->\n'
        '<!-- comments:end article="{id}" -->\n</main>\n')
FRESHNESS_ROUNDS = 3
FRESHNESS_TIMEOUT_S = 30.0


def make_site(site_dir: Path, article_id: str) -> None:
    """A one-page site the service re-bakes (the memory run builds no MkDocs site)."""
    page = site_dir / article_id / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(PAGE.format(id=article_id), encoding="utf-8")
    (site_dir / "index.html").write_text("<!doctype html><title>bench</title>\n")
    for folder in (site_dir, *site_dir.parents):
        if folder == Path("/tmp") or folder == Path("/"):
            break
        folder.chmod(0o755)


def bake(config: servers.OursConfig, site_dir: Path) -> None:
    done = subprocess.run([str(servers.VENV_BIN / "comments-service"), "bake", str(site_dir)],
                          env=servers.ours_env(config), capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"comments-service bake failed:\n{done.stdout}\n{done.stderr}")


def lean_phase(ws: servers.Workspace, args: argparse.Namespace, results: Results,
               config: servers.OursConfig, isso_bin: Path, article_ids: list[str],
               main_article: str) -> None:
    """The single-process service against Isso and nginx; static thread freshness."""
    site_dir = Path(config.env["COMMENTS_SITE_DIR"])
    make_site(site_dir, main_article)
    bake(config, site_dir)
    static_file = site_dir / "comments-data" / f"{main_article}.json"

    ours, port = servers.start_ours(ws, config, 1, "ours-1")
    results.settings.append(f"ours-1 http://127.0.0.1:{port}  pid {ours.pid}  {ours.settings}")
    base = f"http://127.0.0.1:{port}"
    api_url = f"{base}/api/articles/{main_article}/comments"
    # As the 2-process tree was measured: after answering reads and a post.
    for _ in range(20):
        servers.http("GET", api_url)
    post_held(base, article_ids[1], "Held comment for the single-process memory figure.")
    time.sleep(2)
    measure_memory(results, "ours (1 process)", "idle", ours)
    log(f"ours with one process: {len(ours.memory_by_process())} process(es)")

    isso, isso_base = seeded_isso(ws, isso_bin, article_ids)
    results.settings.append(f"isso   {isso_base}  pid {isso.pid}  {isso.settings}")
    time.sleep(2)
    measure_memory(results, "isso (gunicorn 2 workers)", "idle", isso)

    nginx, nginx_port = servers.start_nginx(ws, site_dir)
    static_url = f"http://127.0.0.1:{nginx_port}/comments-data/{main_article}.json"
    _, _, api_body = servers.http("GET", api_url)
    _, _, static_body = servers.http("GET", static_url)
    same = static_body == api_body == static_file.read_bytes()
    results.checks.append(f"static thread through nginx is byte-identical to the API: {same}")
    if not same:
        raise RuntimeError("the static thread JSON differs from the API's answer")

    isso_url = (f"{isso_base}/?uri="
                f"{urllib.parse.quote(isso_server.isso_uri(main_article), safe='')}")
    endpoints = [Endpoint(ONE, api_url, ours), Endpoint("isso", isso_url, isso),
                 Endpoint("nginx static JSON", static_url, nginx)]
    seconds = min(args.duration, 5.0)
    for endpoint in endpoints:
        wrk.run(endpoint.url, connections=16, seconds=1, server=None)
    log(f"{GROUP}: 1 run x {seconds:.0f} s at 16 connections")
    rotate(results, GROUP, endpoints, [16], 1, seconds)
    ws.stop(isso)

    results.lean["debounce_s"] = float(config.env["COMMENTS_BAKE_DEBOUNCE_SECONDS"])
    results.lean["freshness_ms"] = freshness_ms(base, config, main_article, static_url)
    ws.stop(nginx)
    ws.stop(ours)


def seeded_isso(ws: servers.Workspace, isso_bin: Path,
                article_ids: list[str]) -> tuple[procs.Managed, str]:
    """Isso started and seeded as in the full run; a fresh one is tried once more.

    Isso 0.14 under `gunicorn --preload` sometimes never answers one of its first posts
    (see passes.isso_idle_memory).
    """
    for attempt in (1, 2):
        isso, isso_port, password = isso_server.start_isso(ws, isso_bin, "http://127.0.0.1:9/")
        isso_base = f"http://127.0.0.1:{isso_port}"
        log("seeding Isso through POST /new and activating from its admin page")
        try:
            isso_server.seed_isso(isso_base, password, article_ids)
        except (OSError, RuntimeError) as exc:
            ws.stop(isso)
            if attempt == 2:
                raise
            log(f"  Isso did not take the seed ({exc}); starting a fresh Isso")
            shutil.rmtree(ws.root / "isso", ignore_errors=True)
            continue
        return isso, isso_base
    raise AssertionError("unreachable")


def freshness_ms(base: str, config: servers.OursConfig, article_id: str,
                 static_url: str) -> float:
    """Median time from a staff approval to nginx serving the new static thread."""
    seen = []
    for round_ in range(FRESHNESS_ROUNDS):
        comment_id = post_held(base, article_id, f"Held for the freshness check {round_}.")
        started = time.monotonic()
        servers.approve_ours(config, [comment_id])
        committed = time.monotonic()
        deadline = started + FRESHNESS_TIMEOUT_S
        while time.monotonic() < deadline:
            _, _, body = servers.http("GET", static_url)
            if comment_id in {c["id"] for c in json.loads(body)["comments"]}:
                break
            time.sleep(0.005)
        else:
            raise RuntimeError(f"comment {comment_id} never reached the static thread")
        # From the start of the staff action (its own time included), not its commit.
        seen.append((time.monotonic() - started) * 1000)
        log(f"  freshness: approved in {(committed - started) * 1000:.0f} ms, served as a "
            f"static file {seen[-1]:.0f} ms after the action began")
    return statistics.median(seen)


def targets(results: Results) -> list[Target]:
    """The targets the lean phase measures (shown with --memory-only)."""
    found: list[Target] = []
    mb = lambda kb: kb / 1024  # noqa: E731
    two = results.memory.get("ours (2 processes)", {}).get("idle")
    one = results.memory.get("ours (1 process)", {}).get("idle")
    isso = results.memory.get("isso (gunicorn 2 workers)", {}).get("idle")
    if two:
        found.append(Target("idle memory (RSS): serve --workers 2", f"<= {TREE_RSS_MB} MB",
                            f"{mb(two[0]):.0f} MB", mb(two[0]) <= TREE_RSS_MB))
    if one and isso:
        found.append(Target("idle memory (RSS): serve --workers 1 <= Isso",
                            f"<= {mb(isso[0]):.0f} MB", f"{mb(one[0]):.0f} MB",
                            one[0] <= isso[0]))
    ours_pass, isso_pass = results.find(GROUP, ONE, 16), results.find(GROUP, "isso", 16)
    nginx_pass = results.find(GROUP, "nginx static JSON", 16)
    if ours_pass and isso_pass and ours_pass.runs and isso_pass.runs:
        ratio = ours_pass.rps / isso_pass.rps
        found.append(Target("lean: GET thread c=16, 1 process / Isso", ">= 100x",
                            f"{ratio:.0f}x ({ours_pass.rps:,.0f} vs {isso_pass.rps:,.0f} req/s)",
                            ratio >= 100, errors=ours_pass.failures))
    if ours_pass and nginx_pass and ours_pass.runs and nginx_pass.runs:
        found.append(Target("lean: static thread (nginx) / API (1 process)", "as nginx",
                            f"{nginx_pass.rps / ours_pass.rps:.1f}x ({nginx_pass.rps:,.0f} "
                            "req/s)", None if not nginx_pass.rps else True, aim=True))
    fresh = results.lean.get("freshness_ms")
    if fresh is not None:
        debounce_ms = results.lean.get("debounce_s", 0.0) * 1000
        found.append(Target("lean: staff action -> static JSON served",
                            f"< {debounce_ms + 100:.0f} ms (debounce + 100)",
                            f"{fresh:.0f} ms", fresh < debounce_ms + 100))
    return found

