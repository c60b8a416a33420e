"""Processes the benchmark starts: free ports, start/stop by PID, CPU and memory from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Managed:
    """One server process we started, in its own session so its workers stay together."""

    name: str
    proc: subprocess.Popen  # type: ignore[type-arg]
    log_path: Path
    settings: str = ""
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tree(self) -> list[int]:
        """This process and all its descendants (gunicorn/uvicorn workers)."""
        return [*process_tree(self.pid), *self.extra_pids]

    def cpu_ticks(self) -> int:
        return sum(cpu_ticks(pid) for pid in self.tree())

    def memory_kb(self) -> tuple[int, int]:
        """(RSS, PSS) summed over the process tree, in kB."""
        rss = pss = 0
        for pid in self.tree():
            r, p = memory_kb(pid)
            rss += r
            pss += p
        return rss, pss

    def memory_by_process(self) -> list[tuple[str, int, int]]:
        """(role, RSS kB, PSS kB) of each process of the tree, the one we started first."""
        rows = []
        for pid in self.tree():
            rss, pss = memory_kb(pid)
            role = "main" if pid == self.pid else describe(pid)
            rows.append((f"{role} {pid}", rss, pss))
        return rows

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None, settings: str = "") -> Managed:
    """Start a server in a new session (its PID is also its process group id)."""
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)
    log.close()
    return Managed(name=name, proc=proc, log_path=log_path, settings=settings)


def stop(managed: Managed, timeout: float = 10.0) -> None:
    """Stop a server we started: TERM its process group (named by our child's PID), then KILL."""
    if managed.proc.poll() is not None:
        return
    pgid = managed.pid  # start_new_session made the child its own group leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        managed.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        managed.proc.wait(timeout=5)
    # Workers that outlived their master still carry the group id; end them too.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.1)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat_fields(int(entry.name))
            if stat and int(stat[2]) == pgid:
                members.append(int(entry.name))
    return members


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def process_tree(root: int) -> list[int]:
    """root and every descendant, found through the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat_fields(int(entry.name))
        if stat:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    result, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            result.append(pid)
        todo.extend(children.get(pid, []))
    return result


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process (all its threads), in clock ticks."""
    stat = _stat_fields(pid)
    if not stat:
        return 0
    # After the state field: ppid(1) ... utime is field 14 of the full line, index 11 here.
    return int(stat[11]) + int(stat[12])


def describe(pid: int) -> str:
    """A short name for a process of a server's tree (its role, not its whole command)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    command = " ".join(a.decode(errors="replace") for a in argv if a)
    return "multiprocessing resource tracker" if "resource_tracker" in command else "worker"


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from smaps_rollup."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def wait_http(url: str, managed: Managed | None = None, timeout: float = 60.0,
              expect: tuple[int, ...] = (200,)) -> None:
    """Poll url until it answers with an expected status; fail early if the server died."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if managed is not None and not managed.alive():
            raise RuntimeError(f"{managed.name} exited early:\n{managed.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status in expect:
                    return
                last = f"status {resp.status}"
        except urllib.error.HTTPError as exc:
            if exc.code in expect:
                return
            last = f"status {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.2)
    tail = managed.log_tail() if managed else ""
    raise RuntimeError(f"{url} did not answer in {timeout:.0f}s ({last})\n{tail}")


def wait_workers(managed: Managed, count: int, timeout: float = 30.0) -> None:
    """Wait until the tree holds at least count processes (master + workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(managed.tree()) < count:
        time.sleep(0.2)
