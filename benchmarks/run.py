"""Performance benchmark: our comments service against Isso 0.14.0 and nginx, in one run.

    .venv/bin/python benchmarks/run.py            # full run (about 15 minutes)
    .venv/bin/python benchmarks/run.py --quick    # smoke run (2 s passes, short soak)

Installs what it needs (wrk and nginx from Debian, Isso from PyPI into benchmarks/.cache),
starts every server on 127.0.0.1 with its settings printed, seeds the same 50-comment
thread into each through its own API, runs bounded wrk passes alternating the targets,
stops everything it started, and prints one table with the issue's targets marked.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import corpus, procs, report, servers, sitebench, wrk
from benchlib.report import Pass, Target

BENCH_DIR = Path(__file__).resolve().parent
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Results:
    settings: list[str] = field(default_factory=list)
    passes: list[Pass] = field(default_factory=list)
    memory: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    # (name, when) -> each process of the tree: (role and pid, RSS kB, PSS kB)
    memory_detail: dict[tuple[str, str], list[tuple[str, int, int]]] = field(
        default_factory=dict)
    soak: list[tuple[float, int, int]] = field(default_factory=list)
    soak_pass: Pass | None = None
    soak_approved: int = 0
    site: sitebench.SiteFigures | None = None
    notes: list[str] = field(default_factory=list)
    thread_bytes: int = 0
    checks: list[str] = field(default_factory=list)

    def get(self, group: str, target: str, connections: int) -> Pass:
        for p in self.passes:
            if (p.group, p.target, p.connections) == (group, target, connections):
                return p
        created = Pass(group, target, connections)
        self.passes.append(created)
        return created

    def find(self, group: str, target: str, connections: int) -> Pass | None:
        for p in self.passes:
            if (p.group, p.target, p.connections) == (group, target, connections):
                return p
        return None


@dataclass
class Endpoint:
    """One thing wrk hits: a URL on a server, with headers or a Lua script."""

    target: str
    url: str
    server: procs.Managed
    headers: dict[str, str] | None = None
    script: str | None = None
    script_args: list[str] | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 run of 2 s per pass, 20 s soak, 40 articles")
    parser.add_argument("--runs", type=int, help="runs per pass (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per wrk pass (default 10)")
    parser.add_argument("--connections", default="16,64",
                        help="connection counts for the GET thread pass (default 16,64)")
    parser.add_argument("--soak", type=float, help="seconds of mixed soak (default 180)")
    parser.add_argument("--articles", type=int,
                        help="generated articles for the site figures (default 1000)")
    parser.add_argument("--skip-site", action="store_true", help="no mkdocs/bake/page figures")
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL passes")
    parser.add_argument("--lighthouse", action="store_true",
                        help="also run scripts/lighthouse_check.sh on the baked site")
    parser.add_argument("--compare-servers", action="store_true",
                        help="also compare ASGI servers (granian, uvicorn, gunicorn+uvicorn)")
    parser.add_argument("--memory-only", action="store_true",
                        help="only idle memory, per process: ours (serve --workers 2) and Isso")
    parser.add_argument("--site-only", action="store_true",
                        help="only the site figures: mkdocs build ours vs stock, bake, re-bake, "
                        "page weight (with --lighthouse, Lighthouse too)")
    parser.add_argument("--site-runs", type=int,
                        help="mkdocs builds of each site, best taken (default 2; 1 with --quick "
                        "or 500+ articles)")
    parser.add_argument("--posts-only", action="store_true",
                        help="only the POST passes: ours on SQLite against Isso, then ours on "
                        "PostgreSQL with 2 and 4 processes (unless --skip-postgres)")
    parser.add_argument("--servers-only", action="store_true",
                        help="only the ASGI server comparison (implies --compare-servers)")
    parser.add_argument("--server-kinds", default=",".join(servers.SERVER_KINDS),
                        help="servers to compare, comma-separated (default all: "
                        f"{','.join(servers.SERVER_KINDS)})")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/",
                        help="PostgreSQL server (a fresh database is created and dropped)")
    parser.add_argument("--cache-dir", type=Path, default=BENCH_DIR / ".cache",
                        help="where Isso's virtualenv and extra tools are installed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    args.duration = args.duration or (2.0 if quick else 10.0)
    args.soak = args.soak if args.soak is not None else (20.0 if quick else 180.0)
    args.articles = args.articles or (40 if quick else 1000)
    args.connections = [int(c) for c in str(args.connections).split(",") if c]
    args.compare_servers = args.compare_servers or args.servers_only
    args.server_kinds = [k for k in str(args.server_kinds).split(",") if k]
    unknown = set(args.server_kinds) - set(servers.SERVER_KINDS)
    if unknown:
        parser.error(f"unknown server kinds: {', '.join(sorted(unknown))}")
    return args


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


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM ends the run through the same cleanup as Ctrl-C.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    servers.ensure_debian_tools()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    isso_bin = servers.ensure_isso(args.cache_dir)
    gunicorn = (servers.ensure_extra(args.cache_dir, "gunicorn", "gunicorn")
                if args.compare_servers
                and any(k.startswith("gunicorn") for k in args.server_kinds) else None)

    ws = servers.Workspace(root=Path(tempfile.mkdtemp(prefix="comments-bench-")),
                           cache=args.cache_dir)
    results = Results()
    pg_databases: list[str] = []
    log(f"work folder {ws.root}")
    status = 0
    try:
        run_all(ws, args, results, isso_bin, gunicorn, pg_databases)
    except KeyboardInterrupt:
        log("interrupted; stopping everything this run started")
        return 130
    except Exception as exc:
        # Report what was measured before the failure, and say where it stopped.
        log("".join(traceback.format_exception(exc)))
        results.notes.insert(0, f"RUN STOPPED EARLY: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}")
        status = 1
    finally:
        ws.stop_all()
        for name in pg_databases:
            drop_pg_database(args.pg_url, name)
        if args.keep:
            log(f"kept {ws.root}")
        else:
            shutil.rmtree(ws.root, ignore_errors=True)
    print_report(args, results)
    return status


def run_all(ws: servers.Workspace, args: argparse.Namespace, results: Results,
            isso_bin: Path, gunicorn: Path | None, pg_databases: list[str]) -> None:
    seconds = args.duration
    docs = ws.root / "docs"
    article_ids = corpus.write_docs(docs, max(args.articles, 8))
    api_articles = article_ids[:8]
    main_article, post_article, rebake_article = api_articles[0], api_articles[1], api_articles[2]
    site_dir = ws.root / "sitebench" / "site-ours"
    log(f"generated {len(article_ids)} articles in {docs}")

    # Ours on SQLite, 2 processes ---------------------------------------------------------
    sqlite_url = f"sqlite:///{ws.root / 'var' / 'comments.db'}"
    config = servers.ours_config(ws, sqlite_url, docs, site_dir,
                                 "SQLite (WAL, synchronous=FULL)")
    servers.migrate_ours(ws, config)
    ours, ours_port = servers.start_ours(ws, config, 2, "ours")
    results.settings.append(f"ours   http://127.0.0.1:{ours_port}  pid {ours.pid}  "
                            f"{ours.settings}")
    base = f"http://127.0.0.1:{ours_port}"
    log("seeding ours through POST /api/... and approving with the moderation verb")
    seeded = servers.seed_ours(base, config, api_articles)
    # Held comments for the site phase: each is approved, then its page re-baked.
    rebake_pending = [
        post_held(base, rebake_article, f"Held comment {i} for the re-bake measurement.")
        for i in range(5 if not args.quick else 3)
    ]
    thread_url = f"{base}/api/articles/{main_article}/comments"
    status, headers, body = servers.http("GET", thread_url)
    thread = json.loads(body)
    if status != 200 or thread.get("count") != 50 or len(thread.get("comments", [])) != 50:
        raise RuntimeError(f"our thread is wrong: {status} {body[:300]!r}")
    etag = headers.get("ETag") or headers.get("etag")
    results.thread_bytes = len(body)
    status304, _, _ = servers.http("GET", thread_url, headers={"If-None-Match": etag or ""})
    results.checks.append(f"ours: GET thread 200 with 50 comments, {len(body):,} bytes JSON, "
                          f"ETag {etag}; revalidation answered {status304}")
    time.sleep(2)
    measure_memory(results, "ours (2 processes)", "idle", ours)
    if args.memory_only:
        ws.stop(ours)
        isso_idle_memory(ws, results, isso_bin, api_articles)
        stack_floor_memory(ws, results)
        return
    if args.site_only:
        ws.stop(ours)
        site_phase(ws, args, results, docs, config, main_article, rebake_article,
                   rebake_pending)
        return
    if args.servers_only:
        ws.stop(ours)
        compare_servers(ws, args, results, config, gunicorn, main_article, post_article)
        return
    if args.posts_only:
        isso, isso_port, _ = servers.start_isso(ws, isso_bin, f"{base}/")
        results.settings.append(f"isso   http://127.0.0.1:{isso_port}  pid {isso.pid}  "
                                f"{isso.settings}")
        post_passes(results, args, base, ours, f"http://127.0.0.1:{isso_port}", isso,
                    post_article)
        ws.stop(isso)
        ws.stop(ours)
        if not args.skip_postgres:
            postgres_passes(ws, args, results, docs, site_dir, post_article, pg_databases)
        return

    # nginx with our exact JSON bytes -----------------------------------------------------
    static_root = ws.root / "static"
    static_root.mkdir()
    (static_root / "thread.json").write_bytes(body)
    (static_root / "index.html").write_text("<!doctype html><title>bench</title>\n")
    for path in (ws.root, static_root):
        path.chmod(0o755)
    nginx, nginx_port = servers.start_nginx(ws, static_root)
    results.settings.append(f"nginx  http://127.0.0.1:{nginx_port}  pid {nginx.pid}  "
                            f"{nginx.settings}")
    nginx_url = f"http://127.0.0.1:{nginx_port}/thread.json"
    _, _, nginx_body = servers.http("GET", nginx_url)
    if nginx_body != body:
        raise RuntimeError("nginx does not serve the same bytes as ours")

    # Isso --------------------------------------------------------------------------------
    isso, isso_port, password = servers.start_isso(ws, isso_bin, f"http://127.0.0.1:{nginx_port}/")
    results.settings.append(f"isso   http://127.0.0.1:{isso_port}  pid {isso.pid}  "
                            f"{isso.settings}")
    isso_base = f"http://127.0.0.1:{isso_port}"
    log("seeding Isso through POST /new and activating from its admin page")
    servers.seed_isso(isso_base, password, api_articles)
    isso_thread_url = (f"{isso_base}/?uri="
                       f"{urllib.parse.quote(servers.isso_uri(main_article), safe='')}")
    status, _, isso_body = servers.http("GET", isso_thread_url)
    isso_thread = json.loads(isso_body)
    if status != 200 or isso_thread.get("total_replies") != 50:
        raise RuntimeError(f"Isso's thread is wrong: {status} {isso_body[:300]!r}")
    results.checks.append(f"isso: GET /?uri= 200 with 50 comments, {len(isso_body):,} bytes "
                          "JSON (its own shape: nested replies, config block)")
    time.sleep(2)
    measure_memory(results, "isso (gunicorn 2 workers)", "idle", isso)

    # GET thread --------------------------------------------------------------------------
    endpoints = [
        Endpoint("ours", thread_url, ours),
        Endpoint("ours 304", thread_url, ours, headers={"If-None-Match": etag or ""}),
        Endpoint("isso", isso_thread_url, isso),
        Endpoint("nginx keep-alive", nginx_url, nginx),
        Endpoint("nginx new conn", nginx_url, nginx, headers={"Connection": "close"}),
    ]
    log("warm-up (not counted)")
    for endpoint in endpoints:
        wrk.run(endpoint.url, connections=16, seconds=1, server=None, headers=endpoint.headers)
    log(f"GET thread: {args.runs} run(s) x {seconds:.0f} s at {args.connections} connections")
    rotate(results, "GET thread", endpoints, args.connections, args.runs, seconds)

    # GET counts --------------------------------------------------------------------------
    counts_query = "&".join(f"article={a}" for a in api_articles)
    counts_url = f"{base}/api/counts?{counts_query}"
    status, _, counts_body = servers.http("GET", counts_url)
    counts = json.loads(counts_body)
    isso_uris = json.dumps([servers.isso_uri(a) for a in api_articles])
    _, _, isso_counts = servers.http("POST", f"{isso_base}/count", json.loads(isso_uris))
    results.checks.append(f"counts: ours {counts} / isso {isso_counts.decode()}")
    count_endpoints = [
        Endpoint("ours", counts_url, ours),
        Endpoint("isso", f"{isso_base}/count", isso, script="post_static.lua",
                 script_args=[isso_uris]),
    ]
    log("counts for 8 articles")
    rotate(results, "counts x8", count_endpoints, [16], args.runs, seconds)

    # POST a held comment -----------------------------------------------------------------
    post_passes(results, args, base, ours, isso_base, isso, post_article)
    measure_memory(results, "ours (2 processes)", "after passes", ours)
    measure_memory(results, "isso (gunicorn 2 workers)", "after passes", isso)
    ws.stop(isso)
    ws.stop(nginx)

    # Soak --------------------------------------------------------------------------------
    if args.soak > 0:
        soak(ws, args, results, config, ours, base, main_article, post_article, etag or "",
             counts_query)
        measure_memory(results, "ours (2 processes)", "after soak", ours)

    # ASGI server comparison (on the same SQLite database) -----------------------------------
    ws.stop(ours)
    if args.compare_servers:
        compare_servers(ws, args, results, config, gunicorn, main_article, post_article)

    # PostgreSQL: writes with 2 and 4 processes --------------------------------------------
    if not args.skip_postgres:
        postgres_passes(ws, args, results, docs, site_dir, post_article, pg_databases)

    # Site --------------------------------------------------------------------------------
    if not args.skip_site:
        site_phase(ws, args, results, docs, config, main_article, rebake_article,
                   rebake_pending)
    _ = seeded


def isso_idle_memory(ws: servers.Workspace, results: Results, isso_bin: Path,
                     article_ids: list[str]) -> None:
    """Isso started and seeded as in the full run, then its idle memory (for --memory-only).

    Isso 0.14 under `gunicorn --preload` sometimes never answers one of its first posts
    (seen here a few times in ten runs); a fresh Isso is tried once more before giving up.
    """
    for attempt in (1, 2):
        isso, isso_port, password = servers.start_isso(ws, isso_bin, "http://127.0.0.1:9/")
        log("seeding Isso through POST /new and activating from its admin page")
        try:
            servers.seed_isso(f"http://127.0.0.1:{isso_port}", password, article_ids)
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
        from comments_service.db import Database
        from comments_service.moderation import Actor, Moderation, QueueFilter
        from comments_service.privacy import Keyring

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
        for workers in (2, 4):
            server, port = servers.start_ours(ws, config, workers, f"ours-pg-{workers}")
            started[workers] = (server, port)
            results.settings.append(f"ours   http://127.0.0.1:{port}  pid {server.pid}  "
                                    f"{server.settings}")
        endpoints = [
            Endpoint(f"ours pg {w} procs", f"http://127.0.0.1:{port}{post_path}", server,
                     script="post_comment.lua", script_args=[post_path, "{nonce}", "ours"])
            for w, (server, port) in started.items()
        ]
        log("POST a held comment on PostgreSQL, 2 and 4 processes")
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
    from comments_service.articles import load_articles

    return load_articles(docs).by_id()[article_id].url_path


# Report ----------------------------------------------------------------------------------

def mb(kb: int) -> str:
    return f"{kb / 1024:.1f}"


# Names of the targets the site phase measures (what --site-only reports).
SITE_TARGETS = ("mkdocs build", "comments-service bake", "re-bake", "article page",
                "our script", "requests to other hosts", "Lighthouse")


def print_report(args: argparse.Namespace, results: Results) -> None:
    out = []
    mode = "quick smoke run" if args.quick else "full run"
    if args.memory_only:
        out.append(f"Comments service benchmark (idle memory only, {args.articles} articles): "
                   "RSS and PSS of every process of each server's tree after seeding")
    elif args.site_only:
        out.append(f"Comments service benchmark (site figures only, {args.articles} articles)")
    elif args.posts_only:
        out.append(f"Comments service benchmark (POST passes only): {args.runs} run(s) x "
                   f"{args.duration:.0f} s per pass, medians shown; wrk -t2, "
                   f"{os.cpu_count()} cores shared by load and servers")
    else:
        out.append(f"Comments service benchmark ({mode}): {args.runs} run(s) x "
                   f"{args.duration:.0f} s per pass, medians shown; wrk -t2, "
                   f"{os.cpu_count()} cores shared by load and servers")
    out.append("")
    out.append("Servers:")
    out.extend(f"  {line}" for line in results.settings)
    out.extend(f"  check: {line}" for line in results.checks)
    out.append("")
    reference: dict[tuple[str, int], dict[str, Pass]] = {}
    for p in results.passes:
        reference.setdefault((p.group, p.connections), {})[p.target] = p
    # POST ratios compare every store of ours with Isso's single SQLite figure.
    rows = report.pass_rows([p for p in results.passes if not p.group.startswith("server")],
                            reference)
    if results.soak_pass:
        rows += report.pass_rows([results.soak_pass], {})
    if rows:
        out.append(report.table(rows, report.PASS_HEADERS))
    server_passes = [p for p in results.passes if p.group.startswith("server")]
    if server_passes:
        out.append("")
        out.append("ASGI server comparison (our app, 2 processes each, same SQLite database):")
        out.append(report.table(report.pass_rows(server_passes, {}), report.PASS_HEADERS))
    out.append("")
    mem_rows = []
    for name, values in results.memory.items():
        for when, (rss, pss) in values.items():
            mem_rows.append([name, when, "", mb(rss), mb(pss)])
            if when == "idle":
                mem_rows += [[f"  {role}", "", "", mb(r), mb(p)]
                             for role, r, p in results.memory_detail.get((name, when), [])]
    if results.soak:
        first, last = results.soak[0], results.soak[-1]
        peak = max(s[1] for s in results.soak)
        mem_rows.append(["ours soak", f"{len(results.soak)} samples over {last[0]:.0f} s", "",
                         f"{mb(first[1])} -> {mb(last[1])} (peak {mb(peak)})",
                         f"{mb(first[2])} -> {mb(last[2])}"])
    out.append(report.table(mem_rows, ["memory (process tree)", "when", "", "RSS MB", "PSS MB"]))
    site = results.site
    if site:
        out.append("")
        site_rows = [
            ["mkdocs build, ours", f"{site.articles} articles", f"{site.build_ours_s:.1f} s"],
            ["mkdocs build, stock Material", f"{site.articles} articles",
             f"{site.build_stock_s:.1f} s"],
            ["build ratio ours/stock", "", f"{site.build_ratio:.2f}x"],
            ["comments-service bake (CLI, wall)", f"{site.bake_pages} pages",
             f"{site.bake_cli_s:.2f} s"],
            ["bake in-process", f"{site.bake_pages} pages", f"{site.bake_inprocess_s:.2f} s"],
            ["re-bake one page after approval", "median", f"{site.rebake_ms:.1f} ms"],
            ["approve + re-bake", "median", f"{site.approve_and_rebake_ms:.1f} ms"],
            ["article page, gzipped HTML+CSS+JS", site.page_url,
             f"{site.page_total_gz / 1024:.1f} KB"],
        ]
        site_rows += [[f"  {kind}", "", f"{size / 1024:.1f} KB"]
                      for kind, size in sorted(site.page_by_type.items())]
        site_rows += [
            ["our script (comments.js) gzipped", "", f"{site.script_gz / 1024:.1f} KB"],
            ["requests to other hosts", "", str(len(site.third_party))],
        ]
        if site.lighthouse_performance is not None or site.lighthouse_note:
            site_rows.append(["Lighthouse mobile performance", "",
                              str(site.lighthouse_performance)])
        out.append(report.table(site_rows, ["site", "", "figure"]))
    out.append("")
    shown = [t for t in targets(args, results)
             if not args.memory_only or t.name.startswith("idle memory")]
    if args.site_only:
        shown = [t for t in shown if t.name.startswith(SITE_TARGETS)]
    if args.posts_only:
        shown = [t for t in shown if t.name.startswith("POST")]
    out.append(report.table([[t.name, t.wanted, t.measured, t.verdict] for t in shown],
                            ["target", "wanted", "measured", "verdict"]))
    notes = list(results.notes) + (site.notes if site else [])
    if site and site.third_party:
        notes.append("other hosts requested: " + ", ".join(site.third_party[:5]))
    if site and site.page_method:
        notes.append(f"page weight measured by {site.page_method}")
    if site and site.lighthouse_note:
        notes.append(f"Lighthouse: {site.lighthouse_note}")
    notes.append(f"our thread JSON is {results.thread_bytes:,} bytes; nginx serves those bytes")
    notes.append("ratios: ours/Isso and ours/nginx compare medians of the same pass; nginx-close "
                 "is nginx with a new connection per request")
    out.append("")
    out.extend(f"note: {n}" for n in notes)
    print("\n".join(out))


def targets(args: argparse.Namespace, results: Results) -> list[Target]:
    found: list[Target] = []

    def rps(group: str, target: str, conns: int) -> float:
        p = results.find(group, target, conns)
        return p.rps if p and p.runs else float("nan")

    def known(*values: float) -> bool:
        return all(not math.isnan(v) for v in values)

    def errors(group: str, *targets_: str, conns: int = 16) -> int:
        return sum(p.failures for t in targets_ if (p := results.find(group, t, conns)))

    def against_isso(target: Target, group: str, conns: int = 16) -> Target:
        isso_pass = results.find(group, "isso", conns)
        if isso_pass and isso_pass.failures:
            target.reference_failed = isso_pass.failures
            target.reference_total = isso_pass.requests
            statuses: dict[int, int] = {}
            for run in isso_pass.runs:
                for status, n in run.failed_statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
            detail = ", ".join(f"{n}x {status}" for status, n in sorted(statuses.items()))
            target.measured += (f" (Isso failed {isso_pass.failures} of "
                                f"{isso_pass.requests:,}{': ' + detail if detail else ''})")
        return target

    for conns in args.connections:
        ours, isso = rps("GET thread", "ours", conns), rps("GET thread", "isso", conns)
        found.append(against_isso(Target(
            f"GET thread c={conns}: ours/Isso", ">= 100x", report.ratio(ours, isso),
            ours / isso >= 100 if known(ours, isso) else None,
            errors=errors("GET thread", "ours", conns=conns)), "GET thread", conns))
    if 64 in args.connections:
        p = results.find("GET thread", "ours", 64)
        p99 = p.median("p99_ms") if p else float("nan")
        found.append(Target("GET thread c=64: p99", "< 20 ms", f"{p99:.1f} ms",
                            p99 < 20 if known(p99) else None))
    for conns in args.connections:
        ours, nginx = rps("GET thread", "ours", conns), rps("GET thread", "nginx keep-alive", conns)
        found.append(Target(f"GET thread c={conns}: ours/nginx keep-alive", ">= 0.1x (aim)",
                            report.ratio(ours, nginx),
                            ours / nginx >= 0.1 if known(ours, nginx) else None, aim=True))
    for conns in args.connections:
        p200, p304 = results.find("GET thread", "ours", conns), results.find(
            "GET thread", "ours 304", conns)
        if p200 and p304:
            c200, c304 = p200.median("cpu_ms_per_request"), p304.median("cpu_ms_per_request")
            found.append(Target(f"304 cheaper than 200, c={conns}", "CPU/req lower",
                                f"{c304:.3f} vs {c200:.3f} ms", c304 < c200))
    ours, isso = rps("counts x8", "ours", 16), rps("counts x8", "isso", 16)
    found.append(against_isso(Target(
        "counts for 8 articles: ours/Isso", ">= 5x", report.ratio(ours, isso),
        ours / isso >= 5 if known(ours, isso) else None,
        errors=errors("counts x8", "ours")), "counts x8"))
    ours, isso = rps("POST held", "ours sqlite", 16), rps("POST held", "isso", 16)
    found.append(against_isso(Target(
        "POST held, SQLite: ours/Isso", ">= 1.5x", report.ratio(ours, isso),
        ours / isso >= 1.5 if known(ours, isso) else None,
        errors=errors("POST held", "ours sqlite")), "POST held"))
    pg2, pg4 = rps("POST held", "ours pg 2 procs", 16), rps("POST held", "ours pg 4 procs", 16)
    if known(pg2, pg4):
        found.append(against_isso(Target(
            "POST held, PostgreSQL: 2 procs / Isso", ">= 1.5x", report.ratio(pg2, isso),
            pg2 / isso >= 1.5 if known(isso) else None,
            errors=errors("POST held", "ours pg 2 procs")), "POST held"))
        found.append(Target("POST held, PostgreSQL: 4 procs / 2 procs", "> 1x (scales out)",
                            report.ratio(pg4, pg2), pg4 > pg2,
                            errors=errors("POST held", "ours pg 2 procs", "ours pg 4 procs")))
    ours_mem = results.memory.get("ours (2 processes)", {}).get("idle")
    isso_mem = results.memory.get("isso (gunicorn 2 workers)", {}).get("idle")
    if ours_mem and isso_mem:
        found.append(Target("idle memory (RSS): ours <= Isso", f"<= {mb(isso_mem[0])} MB",
                            f"{mb(ours_mem[0])} MB", ours_mem[0] <= isso_mem[0]))
        found.append(Target("idle memory (PSS): ours <= Isso", f"<= {mb(isso_mem[1])} MB",
                            f"{mb(ours_mem[1])} MB", ours_mem[1] <= isso_mem[1]))
    if len(results.soak) >= 6:
        third = max(2, len(results.soak) // 3)
        early = statistics.median(s[1] for s in results.soak[1:third + 1])
        late = statistics.median(s[1] for s in results.soak[-third:])
        growth = (late - early) / early
        found.append(Target(f"memory flat over {args.soak:.0f} s soak (RSS)",
                            "last third <= first third +5%",
                            f"{growth * 100:+.1f}% ({mb(int(early))} -> {mb(int(late))} MB)",
                            growth <= 0.05))
    site = results.site
    if site:
        found.append(Target(f"mkdocs build {site.articles} articles: ours/stock", "<= 1.1x",
                            f"{site.build_ratio:.2f}x", site.build_ratio <= 1.1))
        found.append(Target(f"comments-service bake of {site.bake_pages} pages", "< 5 s",
                            f"{site.bake_cli_s:.2f} s", site.bake_cli_s < 5))
        found.append(Target("re-bake one page after moderation", "< 50 ms",
                            f"{site.rebake_ms:.1f} ms",
                            site.rebake_ms < 50 if known(site.rebake_ms) else None))
        found.append(Target("article page gzipped (HTML+CSS+JS)", "<= 90 KB",
                            f"{site.page_total_gz / 1024:.1f} KB",
                            site.page_total_gz <= 90 * 1024 if site.page_total_gz else None))
        found.append(Target("our script gzipped", "<= 10 KB", f"{site.script_gz / 1024:.1f} KB",
                            site.script_gz <= 10 * 1024 if site.script_gz else None))
        found.append(Target("requests to other hosts", "0", str(len(site.third_party)),
                            not site.third_party))
        if args.lighthouse:
            score = site.lighthouse_performance
            found.append(Target("Lighthouse mobile performance (gzip)", ">= 98", str(score),
                                score >= 98 if score is not None else None))
    return found


if __name__ == "__main__":
    raise SystemExit(main())
