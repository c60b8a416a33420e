"""What a benchmark run collects: its results, the endpoints it measures, its log."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import procs, sitebench
from benchlib.report import Pass

BENCH_DIR = Path(__file__).resolve().parent.parent


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
    # The lean phase's single figures: freshness_ms, debounce_s (benchlib/lean.py).
    lean: dict[str, float] = field(default_factory=dict)

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
