"""Helpers for the comments service tests: a docs folder, an app client, real server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from comments_service.config import Settings
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, StaffRole, StaffUser, utcnow
from comments_service.web.app import create_app

REPO = Path(__file__).resolve().parent.parent
OPEN = "open-article"
OTHER = "other-article"
CLOSED = "closed-article"
HIDDEN = "hidden-article"
CLIENT_IP = "198.51.100.7"

ARTICLE = """---
title: "{title}"
description: "A fictional article for the comments service tests."
id: {id}
updated: 2026-11-01
comments: {state}
---

# {title}

Body text.
"""


def write_docs(docs_dir: Path) -> Path:
    """A docs folder with one article per comment state (and a second open one)."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    for article_id, state in ((OPEN, "open"), (OTHER, "open"), (CLOSED, "closed"),
                              (HIDDEN, "hidden")):
        title = article_id.replace("-", " ").title()
        (docs_dir / f"{article_id}.md").write_text(
            ARTICLE.format(title=title, id=article_id, state=state), encoding="utf-8"
        )
    return docs_dir


def with_docs(settings: Settings, tmp_path: Path, **overrides: Any) -> Settings:
    """A copy of the settings reading the test docs folder, with any overrides."""
    docs = write_docs(tmp_path / "docs")
    return settings.model_copy(update={"docs_dir": docs, **overrides})


@contextmanager
def app_client(settings: Settings, client_ip: str = CLIENT_IP) -> Iterator[TestClient]:
    """A client speaking HTTP to a fresh app (its lifespan run) from client_ip."""
    app = create_app(settings)
    with TestClient(app, client=(client_ip, 50000)) as client:
        yield client


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid comment for the JSON API."""
    data: dict[str, Any] = {
        "author": "Ada Reader",
        "email": "ada.reader@example.org",
        "body": "This helped me understand what was going on in my sessions.",
        "parent_id": None,
        "notify": False,
        "accept_terms": True,
        "website": "",
    }
    data.update(overrides)
    return data


def post(client: TestClient, article_id: str = OPEN, **overrides: Any) -> httpx.Response:
    return client.post(f"/api/articles/{article_id}/comments", json=payload(**overrides))


def set_status(database: Database, comment_id: int, status: CommentStatus) -> None:
    """Moderate a comment directly, as the moderation verbs do (touching the thread)."""
    with database.write() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        comment.status = status
        comment.moderated_at = utcnow()
        thread_versions.touch_thread(session, comment.article_id)


def approve(database: Database, comment_id: int) -> None:
    set_status(database, comment_id, CommentStatus.APPROVED)


def post_approved(client: TestClient, article_id: str = OPEN, **overrides: Any) -> int:
    """Post through the API and approve; returns the id."""
    response = post(client, article_id, **overrides)
    assert response.status_code == 202, response.text
    comment_id = response.json()["id"]
    approve(client.app.state.database, comment_id)  # type: ignore[attr-defined]
    return comment_id


def add_staff_reply(database: Database, article_id: str, parent_id: int | None, body_html: str,
                    display_name: str = "Dr. Mira Example", signature: str = "Clinical editor"
                    ) -> int:
    """A published staff reply, stored as the staff verbs store one."""
    with database.write() as session:
        staff = StaffUser(username=f"staff{time.monotonic_ns()}", display_name=display_name,
                          signature=signature, role=StaffRole.MODERATOR, password_hash="x")
        session.add(staff)
        session.flush()
        comment = Comment(article_id=article_id, parent_id=parent_id, depth=1,
                          author_name="staff", body="reply", body_html=body_html,
                          status=CommentStatus.APPROVED, is_staff=True,
                          staff_user_id=staff.id)
        session.add(comment)
        thread_versions.touch_thread(session, article_id)
        session.flush()
        return comment.id


# Real server processes ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """COMMENTS_* variables reproducing the settings for a server subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update({
        "COMMENTS_MODE": settings.mode,
        "COMMENTS_DATABASE_URL": settings.resolved_database_url,
        "COMMENTS_SECRET_KEY": settings.secret().decode(),
        "COMMENTS_VAR_DIR": str(settings.var_dir),
        "COMMENTS_DOCS_DIR": str(settings.docs_dir),
        "COMMENTS_SITE_DIR": str(settings.site_dir),
        "COMMENTS_SITE_URL": settings.site_url,
        "COMMENTS_MIN_SUBMIT_SECONDS": str(settings.min_submit_seconds),
        "COMMENTS_RATE_LIMIT_COUNT": str(settings.rate_limit_count),
        "COMMENTS_RATE_LIMIT_ADDRESS_COUNT": str(settings.rate_limit_address_count),
        "COMMENTS_RATE_LIMIT_WINDOW_SECONDS": str(settings.rate_limit_window_seconds),
        "COMMENTS_TRUSTED_PROXIES": ",".join(settings.trusted_proxies),
        "COMMENTS_SERVE_SITE": "false",
    })
    env.update(extra)
    return env


class Server:
    """A real `comments-service serve` process on a free port, stopped by its PID."""

    def __init__(self, settings: Settings, workers: int = 1, wait: bool = True,
                 **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.var_dir / f"server-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).parent / "comments-service"), "serve",
                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=service_env(settings, **env),
                                            stdout=log, stderr=subprocess.STDOUT,
                                            cwd=settings.var_dir, start_new_session=True)
        if wait:
            self._wait_healthy()

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy: {self.log.read_text()}")

    def kill9(self) -> None:
        """SIGKILL the server's process group (the supervisor and every worker)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
