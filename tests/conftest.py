"""Shared fixtures: settings -> database -> app -> client, each test on its own database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
DOCS_DIR = REPO / "docs"
PG_ADMIN_URL = os.environ.get("COMMENTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for one test: its own var/ folder and SQLite file, the repo's docs."""
    values: dict[str, object] = {
        "mode": "development",
        "secret_key": TEST_SECRET,
        "var_dir": tmp_path / "var",
        "docs_dir": DOCS_DIR,
        "site_dir": tmp_path / "site",
        "site_url": "http://testserver/",
        "min_submit_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def migrated(settings: Settings) -> Iterator[Database]:
    """A database at the current schema for these settings, disposed of afterwards."""
    db = Database(settings)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    yield from migrated(settings)


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}".strip()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the PostgreSQL server, or a skip saying why it is absent."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_database_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"comments_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on SQLite and, as a second run, on a fresh PostgreSQL database."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database_url")
        return make_settings(tmp_path, database_url=url)
    return make_settings(tmp_path)


@pytest.fixture
def backend_database(backend_settings: Settings) -> Iterator[Database]:
    """A migrated database on SQLite and, as a second run, on a fresh PostgreSQL one."""
    yield from migrated(backend_settings)


@pytest.fixture(scope="session")
def real_site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The repository's own site, built once and served over HTTP on 127.0.0.1."""
    from site_support import real_site, served

    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    with served(result.site_dir) as url:
        yield url
