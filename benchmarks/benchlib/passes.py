"""The benchmark's passes: wrk rotations, memory, the soak, posts, PostgreSQL, the site."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from benchlib import isso_server, procs, servers, sitebench, wrk
from benchlib.report import Pass
from benchlib.results import Endpoint, Results, log


def wrk_pass(results: Results, group: str, endpoint: Endpoint, connections: int,
             seconds: float) -> wrk.WrkResult:
    result = wrk.run(endpoint.url, connections=connections, seconds=seconds,
                     server=endpoint.server, headers=endpoint.headers, script=endpoint.script,
                     script_args=endpoint.script_args)
    results.get(group, endpoint.target, connections).runs.append(result)
    log(f"  {group:<10} {endpoint.target:<18} c={connections:<3} {result.rps:>10,.0f} req/s  "
        f"p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  "
        f"cpu {result.cpu_ms_per_request:.3f} ms/req  non-2xx/3xx {result.non_2xx_3xx}, "
        f"socket errors {result.socket_errors}"
        + (f" (statuses {result.failed_statuses})" if result.failed_statuses else ""))
    return result


def rotate(results: Results, group: str, endpoints: list[Endpoint], connections: list[int],
           runs: int, seconds: float) -> None:
    """runs x (each connection count x each target), the targets alternating."""
    for run in range(runs):
        for conns in connections:
            order = endpoints if run % 2 == 0 else list(reversed(endpoints))
            for endpoint in order:
                wrk_pass(results, group, endpoint, conns, seconds)


def measure_memory(results: Results, name: str, when: str, server: procs.Managed) -> None:
    results.memory.setdefault(name, {})[when] = server.memory_kb()
    results.memory_detail[(name, when)] = server.memory_by_process()


def isso_idle_memory(ws: servers.Workspace, results: Results, isso_bin: Path,
                     article_ids: list[str]) -> None:
    """Isso started and seeded as in the full run, then its idle memory (for --memory-only).

    Isso 0.14 under `gunicorn --preload` sometimes never answers one of its first posts
    (seen here a few times in ten runs); a fresh Isso is tried once more before giving up.
    """
    for attempt in (1, 2):
        isso, isso_port, password = isso_server.start_isso(ws, isso_bin, "http://127.0.0.1:9/")
        log("seeding Isso through POST /new and activating from its admin page")
        try:
            isso_server.seed_isso(f"http://127.0.0.1:{isso_port}", password, article_ids)
        except (OSError, RuntimeError) as exc:
            ws.stop(isso)
            if attempt == 2:
                raise
            log(f"  Isso did not take the seed ({exc}); starting a fresh Isso")
            shutil.rmtree(ws.root / "isso", ignore_errors=True)
            continue
        results.settings.append(f"isso   http://127.0.0.1:{isso_port}  pid {isso.pid}  "
                                f"{isso.settings}")
        time.sleep(2)
        measure_memory(results, "isso (gunicorn 2 workers)", "idle", isso)
        ws.stop(isso)
        return


def stack_floor_memory(ws: servers.Workspace, results: Results) -> None:
    """Idle memory of the stack alone: granian serving apps with none of our code."""
    from benchlib.stack_floor import LAYERS

    for layer, what in LAYERS.items():
        log(f"stack floor: {layer} ({what})")
        floor, port = servers.start_floor(ws, layer)
        results.settings.append(f"floor  {layer}: {what}; {floor.settings}")
        # Answer a few requests first, as ours and Isso did while being seeded.
        for _ in range(20):
            servers.http("GET", f"http://127.0.0.1:{port}/")
        time.sleep(2)
        measure_memory(results, f"stack floor: {layer}", "idle", floor)
        ws.stop(floor)


def post_held(base: str, article_id: str, text: str) -> int:
    status, _, body = servers.http("POST", f"{base}/api/articles/{article_id}/comments", {
        "author": "Bench Reader", "email": "held@example.org", "body": text,
        "parent_id": None, "notify": False, "accept_terms": True, "website": "",
    })
    if status != 202:
        raise RuntimeError(f"POST held comment answered {status}: {body[:300]!r}")
    return int(json.loads(body)["id"])


def soak(ws: servers.Workspace, args: argparse.Namespace, results: Results,
         config: servers.OursConfig, ours: procs.Managed, base: str, main_article: str,
         post_article: str, etag: str, counts_query: str) -> None:
    """Mixed load for args.soak seconds, memory sampled; a moderator approves as it runs."""
    log(f"soak: {args.soak:.0f} s mixed load at 16 connections, memory every 5 s")
    thread_path = f"/api/articles/{main_article}/comments"
    post_path = f"/api/articles/{post_article}/comments"
    stop = threading.Event()
    approved = [0]

    def moderator() -> None:
        from comments_service.store.database import Database
        from comments_service.verbs.keyring import Keyring
        from comments_service.verbs.moderation import Actor, Moderation, QueueFilter

        settings = config.settings()
        database = Database(settings)
        moderation = Moderation(database, Keyring(settings.secret()))
        try:
            while not stop.wait(2.0):
                page = moderation.queue(QueueFilter(status="pending", article_id=post_article))
                if page.items:
                    moderation.approve(page.items[0].comment.id, Actor.operator("benchmark"))
                    approved[0] += 1
        finally:
            database.dispose()

    approver = threading.Thread(target=moderator, daemon=True)
    argv = ["wrk", "-t2", "-c16", f"-d{round(args.soak)}s", "--timeout=10s", "--latency",
            "-s", str(wrk.LUA_DIR / "mixed.lua"), f"{base}{thread_path}", "--",
            thread_path, etag, f"/api/counts?{counts_query}", post_path,
            secrets.token_hex(4)]
    before = ours.cpu_ticks()
    started = time.monotonic()
    load = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    approver.start()
    try:
        deadline = started + args.soak + 30
        while load.poll() is None and time.monotonic() < deadline:
            rss, pss = ours.memory_kb()
            results.soak.append((time.monotonic() - started, rss, pss))
            time.sleep(5 if args.soak >= 60 else 2)
        out, err = load.communicate(timeout=30)
    finally:
        stop.set()
        approver.join(timeout=30)
        if load.poll() is None:
            load.kill()
            load.wait()
    rss, pss = ours.memory_kb()
    results.soak.append((time.monotonic() - started, rss, pss))
    result = wrk.parse(out)
    result.cpu_seconds = (ours.cpu_ticks() - before) / procs.CLK_TCK
    results.soak_pass = Pass("soak mixed", "ours", 16, [result])
    results.soak_approved = approved[0]
    log(f"  soak {result.rps:,.0f} req/s, {approved[0]} approvals during it, "
        f"errors {result.non_2xx_3xx + result.socket_errors}")
    if err.strip():
        results.notes.append(f"soak wrk stderr: {err.strip()[:200]}")
    for line in out.splitlines():
        if line.startswith("failure:"):
            results.notes.append(f"soak {line[:240]}")


def post_passes(results: Results, args: argparse.Namespace, base: str, ours: procs.Managed,
                isso_base: str, isso: procs.Managed, post_article: str) -> None:
    """POST a held comment: ours on SQLite and Isso, alternating."""
    post_path = f"/api/articles/{post_article}/comments"
    isso_post_path = f"/new?uri={urllib.parse.quote('/bench-post/', safe='')}"
    post_endpoints = [
        Endpoint("ours sqlite", base + post_path, ours, script="post_comment.lua",
                 script_args=[post_path, "{nonce}", "ours"]),
        Endpoint("isso", isso_base + isso_post_path, isso, script="post_comment.lua",
                 script_args=[isso_post_path, "{nonce}", "isso"]),
    ]
    log("POST a held comment")
    rotate(results, "POST held", post_endpoints, [16], args.runs, args.duration)


def compare_servers(ws: servers.Workspace, args: argparse.Namespace, results: Results,
                    config: servers.OursConfig, gunicorn: Path | None, main_article: str,
                    post_article: str) -> None:
    kinds = [k for k in args.server_kinds
             if gunicorn is not None or not k.startswith("gunicorn")]
    log(f"ASGI servers, 2 processes each: {', '.join(kinds)}")
    post_path = f"/api/articles/{post_article}/comments"
    for run in range(args.runs):
        for kind in (kinds if run % 2 == 0 else list(reversed(kinds))):
            server, port = servers.start_ours(ws, config, 2, f"asgi-{kind}", kind=kind,
                                              extra_path=gunicorn)
            if run == 0:
                results.settings.append(f"{kind:<6} {server.settings}")
            base = f"http://127.0.0.1:{port}"
            url = f"{base}/api/articles/{main_article}/comments"
            wrk.run(url, connections=16, seconds=1, server=None)
            time.sleep(1)
            measure_memory(results, f"server {kind}", "idle", server)
            for conns in (16, 64):
                wrk_pass(results, "server GET", Endpoint(kind, url, server), conns, args.duration)
            wrk_pass(results, "server POST", Endpoint(
                kind, base + post_path, server, script="post_comment.lua",
                script_args=[post_path, "{nonce}", "ours"]), 16, args.duration)
            ws.stop(server)


def create_pg_database(pg_url: str) -> str:
    name = f"comments_bench_{secrets.token_hex(4)}"
    _psql(pg_url, f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(pg_url: str, name: str) -> None:
    with contextlib.suppress(Exception):
        _psql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql(pg_url: str, sql: str) -> None:
    parsed = urllib.parse.urlparse(pg_url.replace("+psycopg", ""))
    subprocess.run(["psql", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
                    "-U", parsed.username or "postgres", "-d", "postgres", "-v",
                    "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=60)


def postgres_passes(ws: servers.Workspace, args: argparse.Namespace, results: Results,
                    docs: Path, site_dir: Path, post_article: str,
                    pg_databases: list[str]) -> None:
    try:
        name = create_pg_database(args.pg_url)
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as exc:
        results.notes.append(f"PostgreSQL passes skipped: {exc}")
        return
    pg_databases.append(name)
    url = args.pg_url.rstrip("/") + "/" + name
    config = servers.ours_config(ws, url, docs, site_dir, f"PostgreSQL {name}")
    servers.migrate_ours(ws, config)
    post_path = f"/api/articles/{post_article}/comments"
    started: dict[int, tuple[procs.Managed, int]] = {}
    try:
        for workers in (1, 2, 4):
            server, port = servers.start_ours(ws, config, workers, f"ours-pg-{workers}")
            started[workers] = (server, port)
            results.settings.append(f"ours   http://127.0.0.1:{port}  pid {server.pid}  "
                                    f"{server.settings}")
        endpoints = [
            Endpoint(f"ours pg {w} procs", f"http://127.0.0.1:{port}{post_path}", server,
                     script="post_comment.lua", script_args=[post_path, "{nonce}", "ours"])
            for w, (server, port) in started.items()
        ]
        log("POST a held comment on PostgreSQL, 1, 2 and 4 processes")
        # Each process's first post compiles the crisis detector's patterns (seconds on a
        # busy machine); the SQLite server was warmed by its seeding, these by a few posts.
        for workers, (_, port) in started.items():
            for n in range(4 * workers):
                post_held(f"http://127.0.0.1:{port}", post_article,
                          f"Warm-up post {n} for the {workers}-process PostgreSQL server.")
        for endpoint in endpoints:
            wrk.run(endpoint.url, connections=16, seconds=1, server=None,
                    script=endpoint.script, script_args=endpoint.script_args)
        rotate(results, "POST held", endpoints, [16], args.runs, args.duration)
    finally:
        for server, _ in started.values():
            ws.stop(server)


def site_phase(ws: servers.Workspace, args: argparse.Namespace, results: Results, docs: Path,
               config: servers.OursConfig, main_article: str, rebake_article: str,
               rebake_pending: list[int]) -> None:
    figures = sitebench.SiteFigures(articles=args.articles)
    results.site = figures
    runs = args.site_runs or (1 if args.quick or args.articles >= 500 else 2)
    log(f"mkdocs build of {args.articles} articles: ours vs stock Material")
    ours_site, _ = sitebench.build_sites(ws, docs, config, figures, runs)
    log("comments-service bake of the built site, then re-bakes of one page")
    sitebench.bake_figures(ws, ours_site, config, figures, rebake_article, rebake_pending)
    page = f"{docs_page(docs, main_article)}"
    log(f"page weight of {page}")
    sitebench.page_weight(ws, ours_site, page, figures)
    if args.lighthouse:
        log("Lighthouse (scripts/lighthouse_check.sh)")
        sitebench.lighthouse(ours_site, page, figures, ws, docs, config)


def docs_page(docs: Path, article_id: str) -> str:
    from comments_service.articles.front_matter import load_articles

    return load_articles(docs).by_id()[article_id].url_path
