"""Probe, not the product: the smallest process tree uvicorn allows for N workers.

A supervisor that imports nothing but the standard library binds the port, then starts N
uvicorn worker processes that share the listening socket, and stops them on SIGTERM.
No multiprocessing (so no resource tracker process), no restarts: it only sizes what
uvicorn workers cost next to `comments-service serve` (granian).

    python -m benchlib.uvicorn_fd PORT WORKERS    (workers: python -m benchlib.uvicorn_fd worker FD)

(Not `uvicorn --fd`: uvicorn opens that descriptor as a Unix socket, so TCP_NODELAY is
never set and every response waits out the client's delayed ACK.)
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys


def worker(fd: int) -> None:
    """One uvicorn server on the inherited listening socket."""
    import uvicorn

    config = uvicorn.Config("comments_service.web.app:app_from_env", factory=True, loop="uvloop",
                            http="httptools", access_log=False, log_level="warning",
                            proxy_headers=False, server_header=False)
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def main() -> int:
    if sys.argv[1] == "worker":
        worker(int(sys.argv[2]))
        return 0
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.set_inheritable(True)
    fd = sock.fileno()
    argv = [sys.executable, "-m", "benchlib.uvicorn_fd", "worker", str(fd)]
    children = [subprocess.Popen(argv, pass_fds=[fd]) for _ in range(workers)]

    def stop(signum: int, frame: object) -> None:
        for child in children:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
