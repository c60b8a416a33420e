"""The supervisor of `serve --workers N` (N > 1): forks the workers and keeps them running.

Each worker serves the app itself, exactly as the single-process mode does (granian's
embedded server, ``serve.run_single``), on the same address: granian binds its socket
with SO_REUSEPORT, so every worker listens on the port and the kernel spreads the new
connections among them (Linux). This process imports neither granian nor the app; it is
about 14.5 MB resident where granian's own supervisor was 29 MB (benchmarks/README.md,
"Lean at every scale"), the whole saving of the tree, since each worker imports what it
serves with in any case.

It waits for signals only (no handler code runs in it): SIGCHLD starts a worker that died
again, SIGTERM or SIGINT stops every worker and then this process with status 0. A worker
that cannot build the app exits with CANNOT_START, and would on every start (a broken
install, a setting only the app checks): the service then stops with status 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable

from comments_service.logs import JsonFormatter

# A worker's exit status when it could not build the app: stop, do not start it again.
CANNOT_START = 3
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
WATCHED = STOP_SIGNALS | {signal.SIGCHLD}
# A worker that dies sooner than this after its start is started again only after this long,
# so a worker that keeps failing cannot turn the supervisor into a busy loop.
RESPAWN_PAUSE_SECONDS = 1.0
# Beyond the workers' own stop timeout: time to run the app's shutdown and exit.
STOP_MARGIN_SECONDS = 5.0

Worker = Callable[[], int]


class Supervisor:
    """Worker processes by number (1..N), each running ``worker()`` and exiting with it."""

    def __init__(self, workers: int, worker: Worker, stop_timeout: float,
                 log_level: str = "info") -> None:
        self.count = workers
        self.worker = worker
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (number, started)

    def run(self) -> int:
        """Start the workers and supervise them until a stop signal or a failed start."""
        configure_logging(self.log_level)
        # Blocked, the watched signals wait for sigwaitinfo below; the workers unblock them.
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        for number in range(1, self.count + 1):
            self.spawn(number)
        status = 0
        while status == 0:
            signo = signal.sigwaitinfo(WATCHED).si_signo
            if signo in STOP_SIGNALS:
                logger().info("stopping %d workers", len(self.children))
                break
            status = self.replace_the_dead()
        self.stop_all()
        return status

    def spawn(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: default signals, unblocked, then the app
            code = 1
            try:
                for signo in WATCHED:
                    signal.signal(signo, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)
                code = self.worker()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        self.children[pid] = (number, time.monotonic())
        logger().info("started worker-%d (pid %d)", number, pid)

    def replace_the_dead(self) -> int:
        """Reap the workers that ended; start each again, or return 1 if one cannot start."""
        for pid, wait_status in reaped():
            number, started = self.children.pop(pid, (0, 0.0))
            if not number:
                continue
            if os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == CANNOT_START:
                logger().error("a worker could not start the app (see its error above); "
                               "the service stopped")
                return 1
            logger().warning("worker-%d (pid %d) ended (%s); starting it again", number, pid,
                             describe(wait_status))
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
                    logger().warning("worker pid %d did not stop in time; killed", pid)
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
        return f"signal {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"status {os.waitstatus_to_exitcode(wait_status)}"


def signal_quietly(pid: int, signo: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signo)


def configure_logging(level: str) -> None:
    """JSON lines on stderr, as the workers' (logs.server_log_config), set by hand:
    logging.config and logging.handlers would add 1.5 MB to this process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log = logger()
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False


def logger() -> logging.Logger:
    """The logger the supervisor's lines go to (granian's, as the workers' server lines)."""
    return logging.getLogger("_granian")
