"""Storage: SQLite durability settings, crash safety, migrations, secrets and the CLI."""

from __future__ import annotations

import fcntl
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import make_settings
from service_support import OPEN, Server, app_client, payload, post, with_docs
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store import database as db_module
from comments_service.store.database import Database
from comments_service.store.models import Base, Comment, CommentStatus
from comments_service.verbs.keyring import Keyring
from comments_service.web.app import create_app


def test_sqlite_runs_in_wal_mode_with_full_sync_and_a_busy_timeout(database: Database) -> None:
    with database.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_concurrent_posts_on_sqlite_all_succeed(settings: Settings, tmp_path: Path) -> None:
    with app_client(with_docs(settings, tmp_path, rate_limit_count=100,
                              rate_limit_address_count=100)) as client:
        def send(n: int) -> int:
            return post(client, body=f"Concurrent comment {n}").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(send, range(24)))

        assert statuses == [202] * 24
        with client.app.state.database.read() as session:
            bodies = session.scalars(select(Comment.body)).all()
        assert sorted(bodies) == sorted(f"Concurrent comment {n}" for n in range(24))


def test_sqlite_writers_in_other_processes_queue_on_the_lock_file_beside_the_database(
    database: Database,
) -> None:
    first, second = database, Database(database.settings)
    db_file = Path(database.url.removeprefix("sqlite:///"))
    lock_file = db_file.with_name(db_file.name + ".write-lock")
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def hold_first() -> None:
        with first.write() as session:
            session.add(Comment(article_id=OPEN, author_name="A", body="first",
                                body_html="<p>first</p>"))
            entered.set()
            release.wait(10)
            order.append("first committed")

    def then_second() -> None:
        with second.write() as session:
            order.append("second began")
            session.add(Comment(article_id=OPEN, author_name="B", body="second",
                                body_html="<p>second</p>"))

    try:
        holder = threading.Thread(target=hold_first)
        holder.start()
        assert entered.wait(10)
        # Another program following the protocol finds the lock taken.
        with lock_file.open("a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        waiter = threading.Thread(target=then_second)
        waiter.start()
        waiter.join(0.3)
        assert order == []  # the second writer waits, without failing
        release.set()
        holder.join(10)
        waiter.join(10)
        assert order == ["first committed", "second began"]
        with second.read() as session:
            assert sorted(session.scalars(select(Comment.body))) == ["first", "second"]
    finally:
        release.set()
        second.dispose()


def test_create_app_migrates_an_empty_database(settings: Settings, tmp_path: Path) -> None:
    with app_client(with_docs(settings, tmp_path)) as client:
        tables = set(inspect(client.app.state.database.engine).get_table_names())
    assert {"comments", "thread_versions", "alembic_version", "staff_users"} <= tables


def test_migrations_build_exactly_the_tables_the_models_describe(database: Database) -> None:
    with database.engine.connect() as connection:
        # Migration 0012's FTS5 search index (a virtual table and its shadow tables)
        # is no model: SQLite keeps it from triggers.
        context = MigrationContext.configure(connection, opts={"include_name": (
            lambda name, kind, _parent: not (kind == "table"
                                             and str(name).startswith("comments_search")))})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrate_command_brings_the_database_to_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COMMENTS_SECRET_KEY", "m" * 40)

    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0  # running it again changes nothing

    database = Database(Settings())
    try:
        assert "comments" in inspect(database.engine).get_table_names()
    finally:
        database.dispose()
    assert "current schema" in capsys.readouterr().out


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(mode="production", var_dir=tmp_path / "var", docs_dir=tmp_path)
    with pytest.raises(RuntimeError, match="COMMENTS_SECRET_KEY"):
        create_app(settings)
    assert not (tmp_path / "var" / "secret_key").exists()


def test_serve_command_refuses_production_without_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMENTS_MODE", "production")
    monkeypatch.delenv("COMMENTS_SECRET_KEY", raising=False)
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "var"))

    assert main(["serve", "--port", "0"]) == 2
    assert "COMMENTS_SECRET_KEY" in capsys.readouterr().err


def test_development_keeps_a_generated_secret_under_var(tmp_path: Path) -> None:
    settings = with_docs(Settings(var_dir=tmp_path / "var"), tmp_path)
    with app_client(settings) as client:
        comment_id = post(client, email="kept@example.org").json()["id"]
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    with app_client(settings) as client, client.app.state.database.read() as session:
        stored = session.get(Comment, comment_id)
        assert client.app.state.keyring.decrypt_email(stored.email_encrypted) == (
            "kept@example.org")


def test_acknowledged_comments_survive_kill_9_of_the_server(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(settings, tmp_path, rate_limit_count=10_000,
                         rate_limit_address_count=10_000)
    server = Server(settings)
    acknowledged: dict[int, str] = {}
    killer = threading.Timer(1.5, server.kill9)
    try:
        killer.start()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for n in range(10_000):
                body = f"Comment {n}, posted while the server may die."
                try:
                    response = client.post(f"/api/articles/{OPEN}/comments",
                                           json=payload(body=body))
                except httpx.HTTPError:
                    break  # the server is gone; whatever it acknowledged must be on disk
                assert response.status_code == 202
                acknowledged[response.json()["id"]] = body
    finally:
        killer.cancel()
        server.stop()

    assert server.process.returncode == -9
    assert acknowledged, "the server died before acknowledging anything"
    database = Database(settings)
    try:
        with database.read() as session:
            rows = session.execute(select(Comment.id, Comment.body, Comment.status,
                                          Comment.email_encrypted)).all()
    finally:
        database.dispose()
    stored = {row.id: row.body for row in rows}
    assert {i: stored.get(i) for i in acknowledged} == acknowledged
    assert all(row.status == CommentStatus.PENDING for row in rows)
    keyring = Keyring(settings.secret())
    assert {keyring.decrypt_email(row.email_encrypted) for row in rows} == {
        "ada.reader@example.org"}


def test_served_logs_are_json_without_emails(settings: Settings, tmp_path: Path) -> None:
    settings = with_docs(settings, tmp_path)
    server = Server(settings)
    try:
        response = httpx.post(f"{server.url}/api/articles/{OPEN}/comments",
                              json=payload(email="logged.never@example.org"), timeout=10)
        assert response.status_code == 202
    finally:
        server.stop()
    log = server.log.read_text()
    assert '"event": "comment.submitted"' in log
    assert "logged.never" not in log
    assert "127.0.0.1" not in "\n".join(
        line for line in log.splitlines() if "comment.submitted" in line)


@pytest.mark.postgres
@pytest.mark.parametrize("idle_long_enough", [True, False], ids=["idle", "in-use"])
def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(
    pg_server: str, pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    idle_long_enough: bool,
) -> None:
    # As a PostgreSQL restart does to every pooled connection. Only connections left idle
    # are checked before use (not every checkout: that costs a round trip per post).
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0 if idle_long_enough else 1e9)
    database = Database(make_settings(tmp_path, database_url=pg_database_url))
    try:
        with database.read() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))

        if idle_long_enough:
            with database.read() as session:
                second = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert second != first
        else:
            # The cost of not checking a connection in steady use: the first statement on it
            # fails, and the pool replaces every connection it holds.
            with pytest.raises(OperationalError), database.read() as session:
                session.execute(text("SELECT 1"))
            with database.read() as session:
                assert session.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()


@pytest.mark.postgres
def test_postgresql_plans_each_run_for_the_table_as_it_is(
    pg_database_url: str, tmp_path: Path
) -> None:
    # A generic plan made while the table was empty would keep scanning it whole; see
    # db._plan_each_execution. The setting must survive the pool's rollback on return.
    database = Database(make_settings(tmp_path, database_url=pg_database_url))
    try:
        for _ in range(2):
            with database.read() as session:
                mode = session.execute(text("SHOW plan_cache_mode")).scalar_one()
                assert mode == "force_custom_plan"
    finally:
        database.dispose()
