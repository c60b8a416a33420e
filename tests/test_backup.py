"""Online backups of the SQLite database while a real service process keeps taking posts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from archive_support import cli
from service_support import OPEN, Server, payload, service_env, with_docs
from sqlalchemy import func, select

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.models import Comment

COMMAND = str(Path(sys.executable).parent / "comments-service")
MAX_POSTS = 5000
MAX_SECONDS = 30.0


class Poster(threading.Thread):
    """Posts comments to a server one after another until stopped (bounded by count and time)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.statuses: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for n in range(MAX_POSTS):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                response = client.post(f"/api/articles/{OPEN}/comments", json=payload(
                    author=f"Reader {n}", body=f"Comment {n} written during a backup."))
                self.statuses.append(response.status_code)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        while len(self.statuses) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.statuses) >= count, "the server stopped answering posts"


def test_backup_while_the_service_serves_is_whole_and_posts_keep_being_accepted(
    settings: Settings, tmp_path: Path,
) -> None:
    settings = with_docs(settings, tmp_path, rate_limit_count=10_000,
                         rate_limit_address_count=10_000)
    server = Server(settings)
    poster = Poster(server.url)
    try:
        poster.start()
        poster.wait_for(10)
        copies = []
        for n in range(2):
            accepted_before = poster.statuses.count(202)
            target = tmp_path / f"backup-{n}.db"
            result = subprocess.run([COMMAND, "backup", str(target)], capture_output=True,
                                    text=True, env=service_env(settings), timeout=60)
            assert result.returncode == 0, result.stderr
            assert "integrity check ok" in result.stdout
            copies.append((target, accepted_before))
        during = len(poster.statuses)
        poster.wait_for(during + 10)  # still answering after the backups
    finally:
        poster.stop.set()
        poster.join(timeout=MAX_SECONDS)
        server.stop()
    assert set(poster.statuses) == {202}
    for target, accepted_before in copies:
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            # One file: the copy needs no -wal beside it.
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            count = copy.execute("SELECT count(*) FROM comments").fetchone()[0]
        assert accepted_before <= count <= len(poster.statuses)
        assert target.stat().st_mode & 0o077 == 0
    # The newest copy is a working database: the service opens it and has the comments.
    restored = tmp_path / "restored"
    restored.mkdir()
    copies[-1][0].rename(restored / "comments.db")
    database = Database(settings.model_copy(update={"var_dir": restored}))
    try:
        with database.read() as session:
            assert session.scalar(select(func.count()).select_from(Comment)) >= copies[-1][1]
    finally:
        database.dispose()


def test_backup_never_overwrites_a_file(
    database: Database, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "kept.db"
    target.write_bytes(b"an older backup")
    code, _, err = cli(database.settings, monkeypatch, capsys, "backup", str(target))
    assert code == 1 and "exists already" in err
    assert target.read_bytes() == b"an older backup"


@pytest.mark.postgres
def test_backup_on_postgresql_points_to_pg_dump(
    pg_database_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from conftest import make_settings

    settings = make_settings(tmp_path, database_url=pg_database_url)
    code, _, err = cli(settings, monkeypatch, capsys, "backup", str(tmp_path / "x.db"))
    assert code == 2
    assert "pg_dump -Fc" in err
    assert not (tmp_path / "x.db").exists()
