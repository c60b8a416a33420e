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
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import corpus, isso_server, lean, servers, wrk
from benchlib.passes import (
    compare_servers,
    create_pg_database,
    drop_pg_database,
    measure_memory,
    post_held,
    post_passes,
    postgres_passes,
    rotate,
    site_phase,
    soak,
    stack_floor_memory,
)
from benchlib.results import BENCH_DIR, Endpoint, Results, log
from benchlib.summary import print_report


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
    parser.add_argument("--big-threads-only", action="store_true",
                        help="only big threads: page weight and time to render an article "
                        "with 50, 1,000 and 5,000 comments (benchlib/bigthreads.py)")
    parser.add_argument("--site-runs", type=int,
                        help="mkdocs builds of each site, best taken (default 2; 1 with --quick "
                        "or 500+ articles)")
    parser.add_argument("--growth", action="store_true",
                        help="only the growth pass: seed 10,000, 100,000 and 1,000,000 "
                        "comments in bulk on SQLite and PostgreSQL and print how each read, "
                        "post and staff query grows, and big threads (benchlib/growth.py; "
                        "about 15 minutes, not in --quick)")
    parser.add_argument("--growth-sizes", default="10000,100000,1000000",
                        help="stored comments per growth step (default 10000,100000,1000000)")
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
    args.growth_sizes = sorted(int(c) for c in str(args.growth_sizes).split(",") if c)
    if any(not 1_000 <= n <= 2_000_000 for n in args.growth_sizes):
        parser.error("--growth-sizes: each size must be from 1000 to 2000000 comments")
    args.compare_servers = args.compare_servers or args.servers_only
    args.server_kinds = [k for k in str(args.server_kinds).split(",") if k]
    unknown = set(args.server_kinds) - set(servers.SERVER_KINDS)
    if unknown:
        parser.error(f"unknown server kinds: {', '.join(sorted(unknown))}")
    return args


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM ends the run through the same cleanup as Ctrl-C.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.big_threads_only:
        # Needs only the package and Chromium: none of the servers the other passes install.
        from benchlib import bigthreads

        return bigthreads.main(Path(tempfile.mkdtemp(prefix="comments-bench-threads-")))
    signal.signal(signal.SIGTERM, _interrupt)
    if args.growth:
        # In this process, against databases it seeds itself: no servers to install.
        return _growth(args)
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


def _growth(args: argparse.Namespace) -> int:
    from benchlib import growth

    tables = growth.run(
        args.growth_sizes, None if args.skip_postgres else args.pg_url, log,
        create_pg=lambda: create_pg_database(args.pg_url),
        drop_pg=lambda name: drop_pg_database(args.pg_url, name))
    for table in tables:
        print("\n".join(table.lines()) + "\n")
    from benchlib import catalog_memory

    log("growth: the catalog's memory at 1,000 and 10,000 articles")
    print("\n".join(catalog_memory.measure()))
    return 0


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
        # Isso's idle memory is measured in the lean phase, seeded the same way.
        lean.lean_phase(ws, args, results, config, isso_bin, api_articles, main_article)
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
        isso, isso_port, _ = isso_server.start_isso(ws, isso_bin, f"{base}/")
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
    isso, isso_port, password = isso_server.start_isso(ws, isso_bin, f"http://127.0.0.1:{nginx_port}/")
    results.settings.append(f"isso   http://127.0.0.1:{isso_port}  pid {isso.pid}  "
                            f"{isso.settings}")
    isso_base = f"http://127.0.0.1:{isso_port}"
    log("seeding Isso through POST /new and activating from its admin page")
    isso_server.seed_isso(isso_base, password, api_articles)
    isso_thread_url = (f"{isso_base}/?uri="
                       f"{urllib.parse.quote(isso_server.isso_uri(main_article), safe='')}")
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
    isso_uris = json.dumps([isso_server.isso_uri(a) for a in api_articles])
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
        big_threads_phase(ws, results)
    _ = seeded


def big_threads_phase(ws: servers.Workspace, results: Results) -> None:
    """Page weight and time to render with 50, 1,000 and 5,000 comments, as notes."""
    from benchlib import bigthreads

    log("big threads: the article with 50, 1,000 and 5,000 comments")
    for figures in bigthreads.measure(ws.root / "bigthreads"):
        results.notes.append(
            f"big thread, {figures.comments:,} comments: article HTML "
            f"{figures.html_gz / 1024:.1f} KB gzipped (the whole thread baked: "
            f"{figures.whole_thread_html_gz / 1024:.1f} KB), load event "
            f"{figures.load_ms:.0f} ms, thread from the API {figures.thread_ready_ms:.0f} ms, "
            f"{figures.elements:,} elements")


if __name__ == "__main__":
    raise SystemExit(main())
