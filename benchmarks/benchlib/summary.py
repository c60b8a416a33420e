"""The benchmark's closing table: every figure, each target PASS or FAIL."""

from __future__ import annotations

import argparse
import math
import os
import statistics

from benchlib import lean, report
from benchlib.report import Pass, Target
from benchlib.results import Results


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
             if not args.memory_only or t.name.startswith(("idle memory", "lean"))]
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
    # The old "2-process tree at most Isso's" target was withdrawn (the stack stays, issue
    # "Lean at every scale"); the memory table still shows both trees side by side, and the
    # targets that replaced it are checked with the lean figures.
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
        # 11 KB since big threads, live updates and pending comments (README, "Page weight").
        found.append(Target("our script gzipped", "<= 11 KB", f"{site.script_gz / 1024:.1f} KB",
                            site.script_gz <= 11 * 1024 if site.script_gz else None))
        found.append(Target("requests to other hosts", "0", str(len(site.third_party)),
                            not site.third_party))
        if args.lighthouse:
            score = site.lighthouse_performance
            found.append(Target("Lighthouse mobile performance (gzip)", ">= 98", str(score),
                                score >= 98 if score is not None else None))
    found.extend(lean.targets(results))
    return found
