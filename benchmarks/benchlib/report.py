"""The one results table, with ratios per pass and the issue's targets marked PASS/FAIL."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .wrk import WrkResult


@dataclass
class Pass:
    """All runs of one target in one kind of pass at one connection count."""

    group: str  # e.g. "GET thread"
    target: str  # e.g. "ours", "isso", "nginx keep-alive"
    connections: int
    runs: list[WrkResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs]
        return statistics.median(values) if values else float("nan")

    @property
    def rps(self) -> float:
        return self.median("rps")

    @property
    def failures(self) -> int:
        return sum(r.non_2xx_3xx + r.socket_errors for r in self.runs)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)


@dataclass
class Target:
    name: str
    wanted: str
    measured: str
    ok: bool | None  # None: not measured
    aim: bool = False  # an aim, not a requirement
    errors: int = 0  # failed requests in our passes it rests on
    # Failed and total requests of the reference (Isso) in the passes it rests on. A
    # reference that fails more than 1% of its requests makes the comparison meaningless;
    # a stray failure is reported beside the figure instead.
    reference_failed: int = 0
    reference_total: int = 0

    @property
    def verdict(self) -> str:
        if self.errors:
            return f"INVALID ({self.errors} errors)"
        if self.reference_failed > 0.01 * max(self.reference_total, 1):
            return f"INVALID (reference: {self.reference_failed} errors)"
        if self.ok is None:
            return "n/a"
        if self.aim:
            return "MET" if self.ok else "MISSED (aim)"
        return "PASS" if self.ok else "FAIL"


def ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return ""
    value = a / b
    return f"{value:.0f}x" if value >= 10 else f"{value:.2f}x"


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def pass_rows(passes: list[Pass],
              reference: dict[tuple[str, int], dict[str, Pass]]) -> list[list[str]]:
    """Rows for the wrk passes; ratios on our rows against Isso and nginx of the same pass."""
    rows = []
    for p in passes:
        peers = reference.get((p.group, p.connections), {})
        isso = peers.get("isso")
        nginx = peers.get("nginx keep-alive")
        nginx_close = peers.get("nginx new conn")
        ours = p.target.startswith("ours")
        rows.append([
            p.group, p.target, str(p.connections),
            f"{p.rps:,.0f}", fmt_ms(p.median("p50_ms")), fmt_ms(p.median("p99_ms")),
            f"{p.median('cpu_ms_per_request'):.3f}",
            str(p.failures),
            ratio(p.rps, isso.rps) if ours and isso else "",
            ratio(p.rps, nginx.rps) if ours and nginx else "",
            ratio(p.rps, nginx_close.rps) if ours and nginx_close else "",
            str(len(p.runs)),
        ])
    return rows


PASS_HEADERS = ["pass", "target", "conns", "req/s", "p50 ms", "p99 ms", "CPU ms/req",
                "errors", "ours/Isso", "ours/nginx", "ours/nginx-close", "runs"]
