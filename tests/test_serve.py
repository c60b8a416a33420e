"""`comments-service serve`: a supervisor that holds no app (nor granian), workers started
again when they die, a clean stop on SIGTERM, and a service that stops with an error when
the app cannot start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from service_support import Server, free_port, service_env, with_docs

from comments_service.config import Settings


def children(pid: int) -> set[int]:
    """The processes whose parent is pid."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until condition() holds; a guard against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def healthy(server: Server) -> bool:
    try:
        return httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_supervisor_holds_no_app_and_the_workers_do(settings: Settings,
                                                         tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=2)
    try:
        wait_for(lambda: len(children(server.process.pid)) == 2, "two workers")
        # The CLI migrated, then became the supervisor in place (same PID).
        assert b"comments_service.web.serve" in Path(
            f"/proc/{server.process.pid}/cmdline").read_bytes()
        # Nor granian: the workers each run granian's server (web/supervisor.py).
        assert "pydantic_core" not in mapped_files(server.process.pid)
        assert "_granian" not in mapped_files(server.process.pid)
        for worker in children(server.process.pid):
            assert "pydantic_core" in mapped_files(worker)
            assert "_granian" in mapped_files(worker)
    finally:
        server.stop()


def test_a_worker_that_dies_is_started_again(settings: Settings, tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=2)
    try:
        wait_for(lambda: len(children(server.process.pid)) == 2, "two workers")
        before = children(server.process.pid)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)

        wait_for(lambda: len(children(server.process.pid) - before) == 1, "a new worker")
        assert victim not in children(server.process.pid)
        wait_for(lambda: healthy(server), "the service answering")
        # Both workers serve: each new connection may land on either.
        for _ in range(10):
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def stop_with_sigterm(server: Server) -> None:
    """SIGTERM to the main PID only, as a service manager sends it; every worker must end."""
    workers = children(server.process.pid)
    assert len(workers) == 2
    server.process.send_signal(signal.SIGTERM)
    try:
        # Well under the supervisor's kill timeout: the workers stop, nobody kills them.
        status: int | None = server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        status = None
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert status == 0, f"the service ended with {status}; its log:\n{log}"
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists(), f"worker {worker} outlived it:\n{log}"


def test_sigterm_while_the_workers_start_stops_every_worker(settings: Settings,
                                                            tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=2, wait=False)
    # The workers are forked, still importing and building the app.
    wait_for(lambda: len(children(server.process.pid)) == 2, "two workers")
    stop_with_sigterm(server)


def test_sigterm_to_a_serving_service_stops_every_worker(settings: Settings,
                                                         tmp_path: Path) -> None:
    server = Server(with_docs(settings, tmp_path), workers=2)
    wait_for(lambda: len(children(server.process.pid)) == 2, "two workers")
    assert healthy(server)
    stop_with_sigterm(server)


def test_a_worker_that_cannot_build_the_app_stops_the_service(
    settings: Settings, tmp_path: Path
) -> None:
    # serve checks the secret itself; started directly, the supervisor leaves that check to
    # the workers, which then fail on every start.
    env = service_env(with_docs(settings, tmp_path), COMMENTS_MODE="production",
                      COMMENTS_MIGRATE_ON_START="false")
    del env["COMMENTS_SECRET_KEY"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "comments_service.web.serve", "--port", str(free_port()),
             "--workers", "2"],
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
    # The supervisor's own lines are JSON in the workers' shape, written without logging.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {"level": "error", "logger": "_granian",
            "message": "a worker could not start the app (see its error above); the service "
                       "stopped"}.items() <= next(
        line for line in lines if line["message"].startswith("a worker could not")).items()
