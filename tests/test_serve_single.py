"""`comments-service serve --workers 1`: one process that serves the app itself.

No supervisor and no worker processes: the CLI migrates, then becomes the serving process
(same PID), which answers requests, stops cleanly on SIGTERM, and exits 1 when the app
cannot start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from service_support import OPEN, Server, free_port, post, service_env, with_docs
from test_serve import children, healthy, mapped_files, wait_for

from comments_service.config import Settings


def test_one_worker_is_served_by_the_serving_process_itself(settings: Settings,
                                                            tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=1)
    try:
        pid = server.process.pid
        assert b"comments_service.web.serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
        # The app lives here: no worker process, no supervisor beside it.
        assert "pydantic_core" in mapped_files(pid)
        assert children(pid) == set()
        thread = httpx.get(f"{server.url}/api/articles/{OPEN}/comments", timeout=5)
        assert thread.status_code == 200
        assert thread.json() == {"article_id": OPEN, "count": 0, "comments": []}
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert post(client, OPEN).status_code == 202  # type: ignore[arg-type]
    finally:
        server.stop()


def test_sigterm_stops_the_single_process_with_status_zero(settings: Settings,
                                                           tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=1)
    assert healthy(server)

    os.kill(server.process.pid, signal.SIGTERM)
    try:
        status = server.process.wait(timeout=30)
    finally:
        server.stop()

    log = server.log.read_text(errors="replace")
    assert status == 0, f"the service ended with {status}; its log:\n{log}"
    assert "Shutting down granian" in log


def test_sigterm_during_start_up_stops_it_too(settings: Settings, tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=1, wait=False)
    wait_for(lambda: b"comments_service.web.serve" in Path(
        f"/proc/{server.process.pid}/cmdline").read_bytes(), "the serving process", 30)

    os.kill(server.process.pid, signal.SIGTERM)
    try:
        status = server.process.wait(timeout=30)
    finally:
        server.stop()

    # Stopped by the signal before it could install its handlers, or by them: either way
    # it is gone, and not by a crash.
    assert status in (0, -signal.SIGTERM), server.log.read_text(errors="replace")


def test_an_app_that_cannot_start_stops_the_single_process(settings: Settings,
                                                           tmp_path: Path) -> None:
    env = service_env(with_docs(settings, tmp_path), COMMENTS_MODE="production",
                      COMMENTS_MIGRATE_ON_START="false")
    del env["COMMENTS_SECRET_KEY"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "comments_service.web.serve", "--port", str(free_port()),
             "--workers", "1"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text(errors="replace")
    assert status == 1
    assert "COMMENTS_SECRET_KEY is not set" in text
    assert "the app could not start" in text
