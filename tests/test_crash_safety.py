"""kill -9 under concurrent posts: every comment the service acknowledged (202) is there
exactly once after a restart, and the database is intact, on SQLite and on PostgreSQL, with
two worker processes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from service_support import OPEN, Server, payload, with_docs
from sqlalchemy import func, select, text

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import Comment

POSTS = 200
WORKERS = 2
THREADS = 8
KILL_AFTER = 60  # acknowledged posts before the SIGKILL: well inside the burst
POST_TIMEOUT = 10.0


def client_ip(n: int) -> str:
    """A different reader address per post, so the rate limit refuses none of them."""
    return f"10.20.{n // 250}.{n % 250 + 1}"


def post_burst(server: Server) -> tuple[dict[int, str], int]:
    """Post POSTS comments from THREADS threads and SIGKILL the service mid-way.

    Returns the acknowledged comments (id -> body) and how many posts got no answer.
    """
    acknowledged: dict[int, str] = {}
    unanswered = 0
    lock = threading.Lock()
    enough = threading.Event()

    def one(n: int) -> None:
        nonlocal unanswered
        body = f"Comment {n} of the crash test, posted while the service may die."
        try:
            with httpx.Client(base_url=server.url, timeout=POST_TIMEOUT) as client:
                response = client.post(f"/api/articles/{OPEN}/comments",
                                       json=payload(body=body, email=f"reader{n}@example.org"),
                                       headers={"X-Forwarded-For": client_ip(n)})
        except httpx.HTTPError:
            with lock:
                unanswered += 1
            return
        assert response.status_code == 202, response.text
        with lock:
            acknowledged[response.json()["id"]] = body
            if len(acknowledged) >= KILL_AFTER:
                enough.set()

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(one, n) for n in range(POSTS)]
        enough.wait(timeout=60)
        server.kill9()
        for future in futures:
            future.result(timeout=POST_TIMEOUT * 2)
    return acknowledged, unanswered


def test_acknowledged_comments_survive_kill_9_exactly_once(backend_settings: Settings,
                                                          tmp_path: Path) -> None:
    settings = with_docs(backend_settings, tmp_path, trusted_proxies=["127.0.0.1"])
    server = Server(settings, workers=WORKERS)
    try:
        acknowledged, unanswered = post_burst(server)
    finally:
        server.kill9()
    assert KILL_AFTER <= len(acknowledged) < POSTS, "the kill did not land mid-burst"
    assert unanswered > 0

    restarted = Server(settings, workers=WORKERS)  # recovers the journal, migrates, serves
    try:
        assert httpx.get(f"{restarted.url}/healthz", timeout=10).json() == {"status": "ok"}
        database = Database(settings)
        try:
            with database.read() as session:
                rows = {i: b for i, b in session.execute(select(Comment.id, Comment.body))}
                for comment_id, body in acknowledged.items():
                    assert rows.get(comment_id) == body, f"acknowledged comment {comment_id}"
                duplicates = session.execute(
                    select(Comment.body, func.count()).group_by(Comment.body)
                    .having(func.count() > 1)).all()
                assert duplicates == []
                if database.is_sqlite:
                    assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                    assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        finally:
            database.dispose()
        # The restarted service takes posts again.
        response = httpx.post(f"{restarted.url}/api/articles/{OPEN}/comments",
                              json=payload(body="After the restart."),
                              headers={"X-Forwarded-For": "10.99.0.1"}, timeout=10)
        assert response.status_code == 202
    finally:
        restarted.stop()
