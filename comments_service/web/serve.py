"""The process `comments-service serve` becomes: granian supervising the worker processes.

`serve` checks the configuration and migrates in the CLI process, then replaces that
process with this module (same PID, same signals). What stays resident as the supervisor
is therefore only granian, never the app and its libraries (FastAPI, SQLAlchemy, Alembic,
pydantic): measured, that is about 30 MB instead of about 95 MB (benchmarks/README.md,
"Choosing the ASGI server"). Granian forks each worker from this small process; the worker
imports the app and builds it from the COMMENTS_* variables (``worker_app``).

With ``--workers 1`` there is no supervisor: the smallest hosts get one process that
serves the app itself (``run_single``, granian's embedded server on a uvloop event loop),
about a supervisor's 30 MB less. A crash then ends the service; the process manager
(systemd's ``Restart=``) starts it again, as it would a supervisor.

This module imports nothing heavy on purpose, and does not migrate: run it through
`comments-service serve`, not on its own.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
from collections.abc import Sequence
from typing import Any

from comments_service.logs import LOG_LEVELS, server_log_config

APP_FACTORY = "comments_service.web.serve:worker_app"
# Sent by a worker to the supervisor when it cannot build the app.
WORKER_FAILED = signal.SIGUSR1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long a stopping worker may finish the requests in flight before it is killed; it also
# bounds a stop if a worker missed its SIGTERM. Well inside systemd's default of 90 s.
WORKER_STOP_TIMEOUT = 20
# Granian fills these fields in per request; the client address is logged only when the
# operator asks for access logs.
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms'


def frozen(app: Any) -> Any:
    """The app, after the collector has been told to leave what exists now alone.

    What exists now (modules, the app, the catalog) lives as long as the worker. Frozen,
    the collector never walks it again: a full collection over it took about 80 ms, a
    stall for every request in flight (p99 and CPU per request were lower frozen).
    """
    gc.collect()
    gc.freeze()
    return app


def single_app() -> Any:
    """The app for the single-process mode (``run_single``), built in the serving process."""
    from comments_service.web.app import app_from_env

    return frozen(app_from_env())


def worker_app() -> Any:
    """The app for one worker process; granian calls it in each worker it starts.

    Granian starts a worker that died again. One that cannot even build the app (a broken
    install, a setting only the app checks) would fail the same way each time, so it stops
    the whole service instead, with its traceback in the log: it tells the supervisor
    (WORKER_FAILED), which stops the other workers and exits with status 1.
    """
    # A forked worker starts with the supervisor's Python signal handlers, which only set a
    # flag in the supervisor's copied state: a SIGTERM that arrived while the app was still
    # being built was swallowed, and the worker then served on while the supervisor waited
    # for it to stop. Until granian installs the worker's own handlers, the default applies:
    # a stop during start-up ends the worker at once. The signals wait, blocked, while the
    # handlers change: one arriving in between then meets the default, not a lost handler.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    stop_requested = inherited_stop_requested()
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    if stop_requested:
        os._exit(0)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        from comments_service.web.app import app_from_env

        app = app_from_env()
    except BaseException:
        # The supervisor answers WORKER_FAILED with a SIGTERM to every worker; this one is
        # already on its way out and must live long enough to print its traceback.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        os.kill(os.getppid(), WORKER_FAILED)
        raise
    return frozen(app)


def run(host: str, port: int, workers: int, log_level: str = "info",
        access_log: bool = False) -> int:
    """Serve the app with granian: ASGI over HTTP/1.1, one uvloop event loop per worker.

    Returns the exit status once granian has stopped its workers: 0 after SIGTERM or
    SIGINT, 1 when a worker could not start the app (``worker_app``). A worker that dies
    while serving is started again. One worker is served in this process (run_single).
    """
    if workers == 1:
        return run_single(host, port, log_level, access_log)
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    # Granian passes the peer address through untouched: the app reads X-Forwarded-For
    # itself, and only from settings.trusted_proxies.
    server = Granian(
        APP_FACTORY,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        # The service speaks HTTP/1.1 behind a proxy or to browsers; no WebSocket routes.
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(log_level),
        log_dictconfig=server_log_config(log_level),
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_STOP_TIMEOUT,
    )
    failed: list[int] = []

    def worker_failed(signum: int, frame: object) -> None:
        failed.append(signum)
        server.signal_handler_interrupt()

    signal.signal(WORKER_FAILED, worker_failed)
    server.serve()
    if failed:
        server_logger().error("a worker could not start the app (see its error above); "
                              "the service stopped")
    return 1 if failed else 0


def run_single(host: str, port: int, log_level: str = "info", access_log: bool = False) -> int:
    """Serve the app in this process: granian's embedded server, no worker processes.

    SIGTERM or SIGINT stops it as the supervisor stops a worker: no new connections, the
    requests in flight finished (for at most WORKER_STOP_TIMEOUT), the app's lifespan shut
    down, exit status 0. An app that cannot be built or started gives status 1, its error
    in the log.
    """
    import asyncio

    import uvloop
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    server = Server(
        single_app,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(log_level),
        log_dictconfig=server_log_config(log_level),
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
    )
    # Not a constructor argument of the embedded server; it bounds the stop the same way.
    server.workers_kill_timeout = WORKER_STOP_TIMEOUT

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    try:
        uvloop.run(serve())
    except TimeoutError:
        server_logger().warning("requests still running after %d s were cut off",
                                WORKER_STOP_TIMEOUT)
    except Exception:
        server_logger().exception("the app could not start; the service stopped")
        return 1
    if server.interrupt_children:
        # The app's lifespan failed (granian logged why) or the serving task died.
        server_logger().error("the app stopped unexpectedly (see its error above); "
                              "the service stopped")
        return 1
    return 0


def inherited_stop_requested() -> bool:
    """Whether a stop signal reached this forked worker before it could act on one.

    The handler inherited from the supervisor is granian's bound method, which records the
    signal on its (copied) server object; any other handler means nothing was recorded.
    """
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if getattr(getattr(handler, "__self__", None), "interrupt_signal", False) is True:
            return True
    return False


def server_logger() -> logging.Logger:
    """The logger granian writes the supervisor's own lines to."""
    return logging.getLogger("_granian")


def build_parser() -> argparse.ArgumentParser:
    """Options passed on by `comments-service serve` (the same names and defaults)."""
    parser = argparse.ArgumentParser(
        prog="comments-service serve",
        description="Supervise the service's worker processes (started by comments-service "
        "serve after it has migrated the database).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    parser.add_argument("--access-log", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m comments_service.server``."""
    args = build_parser().parse_args(argv)
    return run(args.host, args.port, args.workers, args.log_level, args.access_log)


if __name__ == "__main__":
    raise SystemExit(main())
