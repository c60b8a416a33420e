"""The supervisor of `serve --workers N` (N > 1): starts the workers and keeps them running.

Each worker is its own interpreter (``python -m comments_service.web.serve`` with one
worker), serving the app exactly as the single-process mode does (granian's embedded
server, ``serve.run_single``), on the same address: granian binds its socket with
SO_REUSEPORT, so every worker listens on the port and the kernel spreads the new
connections among them (Linux).

This file runs as a script in an isolated interpreter without site-packages
(``python -I -S``, see ``serve.run``), so it imports the standard library only, not even
``logging``, ``enum`` or ``json``: about 9.7 MB resident, where forking the workers from
a supervisor that had imported the package cost 14.5 MB, and granian's own supervisor
29 MB (benchmarks/README.md, "Lean at every scale"). Workers started from a fresh
interpreter cost what forked ones did, since each imports what it serves with anyway.

It waits for signals only (no handler code runs in it): SIGCHLD starts a worker that died
again, SIGTERM or SIGINT stops every worker and then this process with status 0. A worker
that cannot build the app exits with CANNOT_START, and would on every start (a broken
install, a setting only the app checks): the service then stops with status 1.
"""

from __future__ import annotations

# _signal is the C module behind signal, whose only addition is an Enum of the numbers:
# enum, with json's re, was 1.2 of the 1.8 MB this script's imports cost.
import _signal as signal
import contextlib
import os
import sys
import time
from collections.abc import Sequence

# A worker's exit status when it could not build the app: stop, do not start it again.
CANNOT_START = 3
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
WATCHED = STOP_SIGNALS | {signal.SIGCHLD}
# A worker that dies sooner than this after its start is started again only after this long,
# so a worker that keeps failing cannot turn the supervisor into a busy loop.
RESPAWN_PAUSE_SECONDS = 1.0
# Beyond the workers' own stop timeout: time to run the app's shutdown and exit.
STOP_MARGIN_SECONDS = 5.0
SIGNAL_NAMES = {getattr(signal, name): name for name in dir(signal)
                if name.startswith("SIG") and not name.startswith("SIG_")}
# The levels of `serve --log-level`, most severe first (logs.LOG_LEVELS).
LEVELS = ("critical", "error", "warning", "info", "debug")


class Supervisor:
    """Worker processes by number (1..N), each running the command ``worker``."""

    def __init__(self, workers: int, worker: Sequence[str], stop_timeout: float,
                 log_level: str = "info") -> None:
        self.count = workers
        self.worker = list(worker)
        self.stop_timeout = stop_timeout
        self.log = Log(log_level)
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (number, started)

    def run(self) -> int:
        """Start the workers and supervise them until a stop signal or a failed start."""
        # Blocked, the watched signals wait for sigwaitinfo below; the workers unblock them.
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        for number in range(1, self.count + 1):
            self.spawn(number)
        status = 0
        while status == 0:
            signo = signal.sigwaitinfo(WATCHED).si_signo
            if signo in STOP_SIGNALS:
                self.log.info(f"stopping {len(self.children)} workers")
                break
            status = self.replace_the_dead()
        self.stop_all()
        return status

    def spawn(self, number: int) -> None:
        # The worker starts with no signal blocked (a signal mask outlives exec) and every
        # watched signal at its default.
        pid = os.posix_spawn(self.worker[0], self.worker, os.environ, setsigmask=(),
                             setsigdef=WATCHED)
        self.children[pid] = (number, time.monotonic())
        self.log.info(f"started worker-{number} (pid {pid})")

    def replace_the_dead(self) -> int:
        """Reap the workers that ended; start each again, or return 1 if one cannot start."""
        for pid, wait_status in reaped():
            number, started = self.children.pop(pid, (0, 0.0))
            if not number:
                continue
            if os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == CANNOT_START:
                self.log.error("a worker could not start the app (see its error above); "
                               "the service stopped")
                return 1
            self.log.warning(f"worker-{number} (pid {pid}) ended ({describe(wait_status)}); "
                             "starting it again")
            if time.monotonic() - started < RESPAWN_PAUSE_SECONDS:
                time.sleep(RESPAWN_PAUSE_SECONDS)
            self.spawn(number)
        return 0

    def stop_all(self) -> None:
        """SIGTERM every worker; each finishes its requests in flight, then is reaped.

        A worker still running after its stop timeout (and a margin) is killed.
        """
        for pid in self.children:
            signal_quietly(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout + STOP_MARGIN_SECONDS
        while self.children:
            left = deadline - time.monotonic()
            if left <= 0:
                for pid in self.children:
                    self.log.warning(f"worker pid {pid} did not stop in time; killed")
                    signal_quietly(pid, signal.SIGKILL)
                deadline = float("inf")
            for pid, _ in reaped():
                self.children.pop(pid, None)
            if self.children:
                signal.sigtimedwait({signal.SIGCHLD}, min(max(left, 0.05), 0.5))


def reaped() -> list[tuple[int, int]]:
    """(pid, wait status) of every child that has ended, without blocking."""
    found = []
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        found.append((pid, wait_status))


def describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        return f"signal {SIGNAL_NAMES.get(number, number)}"
    return f"status {os.waitstatus_to_exitcode(wait_status)}"


def signal_quietly(pid: int, signo: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signo)


class Log:
    """JSON lines on stderr, in the workers' shape (logs.JsonFormatter), without ``logging``."""

    def __init__(self, level: str) -> None:
        self.shown = LEVELS[:LEVELS.index(level) + 1] if level in LEVELS else LEVELS

    def write(self, level: str, message: str) -> None:
        if level not in self.shown:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        line = {"time": f"{stamp}.{int(now % 1 * 1e6):06d}Z", "level": level,
                "logger": "_granian", "message": message}
        fields = ", ".join(f"{json_string(k)}: {json_string(v)}" for k, v in line.items())
        with contextlib.suppress(OSError):  # a closed log must not stop the supervisor
            sys.stderr.write("{" + fields + "}\n")
            sys.stderr.flush()

    def info(self, message: str) -> None:
        self.write("info", message)

    def warning(self, message: str) -> None:
        self.write("warning", message)

    def error(self, message: str) -> None:
        self.write("error", message)


def json_string(text: str) -> str:
    """The JSON string for ``text``, as json.dumps(text, ensure_ascii=False) writes it."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else _CONTROL.get(c, f"\\u{ord(c):04x}")
                         for c in escaped) + '"'


_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def main(argv: Sequence[str]) -> int:
    """``supervisor.py WORKERS STOP_TIMEOUT LOG_LEVEL -- WORKER COMMAND...`` (from serve.run)."""
    count, stop_timeout, level, separator, *worker = argv
    if separator != "--" or not worker:
        raise SystemExit("usage: supervisor.py WORKERS STOP_TIMEOUT LOG_LEVEL -- COMMAND...")
    return Supervisor(int(count), worker, float(stop_timeout), level).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
