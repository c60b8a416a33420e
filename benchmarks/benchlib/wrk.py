"""Running wrk for a bounded time and reading its --latency report."""

from __future__ import annotations

import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .procs import CLK_TCK, Managed

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


@dataclass
class WrkResult:
    """One wrk pass, with the server tree's CPU spent during it."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: int
    cpu_seconds: float = 0.0
    # HTTP status -> count of failed responses, when the Lua script tallies them.
    failed_statuses: dict[int, int] = field(default_factory=dict)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000.0 * self.cpu_seconds / self.requests if self.requests else float("nan")

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.non_2xx_3xx == 0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    """The figures of a wrk --latency report."""
    def find(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output)
        if match:
            return match.group(1)
        if default is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{output}")
        return default

    requests_line = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if not requests_line:
        raise ValueError(f"wrk output lacks the request count:\n{output}")
    seconds = _ms(requests_line.group(2) + requests_line.group(3)) / 1000.0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    # Read errors are how wrk counts a server closing a Connection: close socket; only
    # connect, write and timeout errors are real failures.
    socket_errors = (int(errors.group(1)) + int(errors.group(3)) + int(errors.group(4))
                     if errors else 0)
    return WrkResult(
        requests=int(requests_line.group(1)),
        seconds=seconds,
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"\n\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"\n\s+99%\s+(\S+)")),
        non_2xx_3xx=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=socket_errors,
        failed_statuses={int(status): int(n) for status, n in
                         re.findall(r"Failed status (\d+): (\d+)", output)},
    )


def run(url: str, *, connections: int, seconds: float, server: Managed | None,
        threads: int = 2, headers: dict[str, str] | None = None, script: str | None = None,
        script_args: list[str] | None = None, timeout_s: int = 10) -> WrkResult:
    """One bounded wrk pass; CPU is the server tree's utime+stime delta over the pass.

    "{nonce}" in a script argument becomes a fresh random token for this pass, so scripts
    that post unique bodies never repeat an earlier pass's bodies.
    """
    argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}",
            f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script:
        argv += ["-s", str(LUA_DIR / script)]
    argv.append(url)
    if script_args:
        nonce = secrets.token_hex(4)
        argv += ["--", *(arg.replace("{nonce}", nonce) for arg in script_args)]
    before = server.cpu_ticks() if server else 0
    done = subprocess.run(argv, capture_output=True, text=True,
                          timeout=seconds + timeout_s + 30, check=False)
    after = server.cpu_ticks() if server else 0
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}\n{done.stdout}")
    result = parse(done.stdout)
    result.cpu_seconds = (after - before) / CLK_TCK
    return result
