"""The process `comments-service serve` becomes: the app's server, or their supervisor.

`serve` checks the configuration and migrates in the CLI process, then replaces that
process with this module (same PID, same signals), so nothing the CLI imported (Alembic,
the whole CLI) stays resident.

With ``--workers 1`` (the default) there is no supervisor: one process serves the app
itself (``run_single``, granian's embedded server on a uvloop event loop). A crash then
ends the service; the process manager (systemd's ``Restart=``) starts it again.

With more, this process becomes the supervisor in place again (web/supervisor.py, run as
a script by an interpreter that loads no site-packages: about 9.7 MB resident, where
granian's own supervisor was 29 MB). It starts each worker as this module with one
worker, serving as ``run_single`` does on the same port (benchmarks/README.md, "Lean at
every scale").

This module imports nothing heavy on purpose, and does not migrate: run it through
`comments-service serve`, not on its own.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from comments_service.logs import LOG_LEVELS, server_log_config
from comments_service.web.supervisor import CANNOT_START

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long a stopping worker may finish the requests in flight before it is killed; it also
# bounds a stop if a worker missed its SIGTERM. Well inside systemd's default of 90 s.
WORKER_STOP_TIMEOUT = 20
SUPERVISOR = Path(__file__).resolve().with_name("supervisor.py")
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


def without_pydantic_v1() -> None:
    """Keep pydantic's bundled v1 package out of this serving process (about 1.5 MB).

    FastAPI imports ``pydantic.v1`` for every route it adds, only to refuse v1 models, and
    reads an ImportError as "no v1 here" (as on Python 3.14, where pydantic has no v1).
    Nothing of ours uses v1. A None entry in sys.modules makes that import fail at once.
    """
    sys.modules.setdefault("pydantic.v1", None)  # type: ignore[arg-type]


def without_reloader() -> None:
    """Keep watchfiles out of this serving process (about 5 MB resident in each worker).

    Granian imports it at start when it is installed (uvicorn[standard] brings it) only
    to offer its --reload option, which the service never uses: reloading is for
    `mkdocs serve`, not for this server. Its optional import reads None as absent.
    """
    sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]


def single_app() -> Any:
    """The app for the single-process mode (``run_single``), built in the serving process."""
    without_pydantic_v1()
    from comments_service.config import Settings
    from comments_service.verbs import urgency

    # Compiling the crisis patterns frees megabytes of temporaries as it goes. Done before
    # the app's modules are imported, the modules' own objects fill those holes; done
    # after, the holes stayed empty for the worker's life (2.3 MB a process). The app
    # then finds the detector already built (urgency.detector_for caches it).
    settings = Settings()
    urgency.detector_for(settings)
    from comments_service.web.app import app_from_env

    return frozen(app_from_env(settings))


def run(host: str, port: int, workers: int, log_level: str = "info",
        access_log: bool = False) -> int:
    """Serve the app with granian: ASGI over HTTP/1.1, one uvloop event loop per process.

    One worker is served in this process (run_single). For more, this process becomes the
    supervisor (web/supervisor.py, in an interpreter that loads no site-packages), which
    starts each worker as this module with one worker, serving as run_single does on the
    same port. Returns the exit status once every worker has stopped: 0 after SIGTERM or
    SIGINT, 1 when a worker could not start the app. A worker that dies while serving is
    started again.
    """
    if workers == 1:
        return run_single(host, port, log_level, access_log)
    command = supervisor_command(host, port, workers, log_level, access_log)
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter and script, no shell
    return 1  # not reached: execv replaces this process


def supervisor_command(host: str, port: int, workers: int, log_level: str,
                       access_log: bool) -> list[str]:
    """The supervisor's command line: an isolated interpreter (-I: no environment options,
    no current directory on the path; -S: no site-packages), then each worker's."""
    worker = [sys.executable, "-m", "comments_service.web.serve", "--host", host,
              "--port", str(port), "--workers", "1", "--log-level", log_level,
              "--supervised"]
    if access_log:
        worker.append("--access-log")
    return [sys.executable, "-I", "-S", str(SUPERVISOR), str(workers),
            str(WORKER_STOP_TIMEOUT), log_level, "--", *worker]


def run_single(host: str, port: int, log_level: str = "info", access_log: bool = False,
               cannot_start: int = 1) -> int:
    """Serve the app in this process: granian's embedded server, on a port it may share.

    SIGTERM or SIGINT stops it: no new connections, the requests in flight finished (for at
    most WORKER_STOP_TIMEOUT), the app's lifespan shut down, exit status 0. An app that
    cannot be built gives status ``cannot_start`` (a supervisor's worker tells it apart
    from a crash that way), one that stops unexpectedly 1, its error in the log.
    """
    import asyncio

    without_reloader()
    import uvloop
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    # Granian passes the peer address through untouched: the app reads X-Forwarded-For
    # itself, and only from settings.trusted_proxies. HTTP/1.1 behind a proxy or to
    # browsers; no WebSocket routes.
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
        return cannot_start
    if server.interrupt_children:
        # The app's lifespan failed (granian logged why) or the serving task died.
        server_logger().error("the app stopped unexpectedly (see its error above); "
                              "the service stopped")
        return 1
    return 0


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
    parser.add_argument("--supervised", action="store_true",
                        help="a worker of the supervisor: exit with status 3 when the app "
                        "cannot be built, so the supervisor stops instead of restarting it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m comments_service.server``."""
    args = build_parser().parse_args(argv)
    if args.supervised:
        return run_single(args.host, args.port, args.log_level, args.access_log,
                          cannot_start=CANNOT_START)
    return run(args.host, args.port, args.workers, args.log_level, args.access_log)


if __name__ == "__main__":
    raise SystemExit(main())
