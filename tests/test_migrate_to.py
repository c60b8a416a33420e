"""migrate --to REVISION: down and back up again, on any branch, keeping the data."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from archive_support import cli, populate
from service_support import service_env, with_docs
from sqlalchemy import func, inspect, select
from staff_support import fast_hashing  # noqa: F401 - autouse fixture

from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import (
    ALEMBIC_INI,
    MIGRATIONS_DIR,
    MigrationTargetError,
    code_heads,
    migrate_to,
    upgrade,
)
from comments_service.store.models import Comment

BRANCHES = {
    # revision: (parent, table it creates)
    "9001": ("0003", "branch_a_notes"),
    "9002": ("0003", "branch_b_flags"),
    "9003": ("9002", "branch_b_more"),
}


def test_migrate_to_0003_and_back_to_heads_keeps_every_row(
    backend_settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = with_docs(backend_settings, tmp_path, rate_limit_count=100)
    populate(settings)
    code, _, err = cli(settings, monkeypatch, capsys, "export", str(tmp_path / "before.json"),
                       "--with-emails", "--with-secrets")
    assert code == 0, err
    code, out, err = cli(settings, monkeypatch, capsys, "migrate", "--to", "0003")
    assert code == 0, err
    assert "database is at revision(s) 0003" in out
    with opened_without_upgrade(settings) as database:
        inspector = inspect(database.engine)
        at_0003 = {table: {c["name"] for c in inspector.get_columns(table)}
                   for table in inspector.get_table_names()}
    code, out, err = cli(settings, monkeypatch, capsys, "migrate")
    assert code == 0, err
    code, _, err = cli(settings, monkeypatch, capsys, "export", str(tmp_path / "after.json"),
                       "--with-emails", "--with-secrets")
    assert code == 0, err
    # Every row comes back with what revision 0003 could hold; what later revisions added
    # (urgent reasons, content notes, ...) is lost by design, as the README warns.
    assert kept_at(tmp_path / "after.json", at_0003) == kept_at(tmp_path / "before.json",
                                                                at_0003)


def kept_at(export: Path, columns: dict[str, set[str]]) -> dict[str, list[dict[str, object]]]:
    """An export's rows, cut down to the tables and columns a revision has."""
    tables = json.loads(export.read_text(encoding="utf-8"))["tables"]
    return {name: [{k: v for k, v in row.items() if k in columns[name]} for row in rows]
            for name, rows in tables.items() if name in columns}


def test_migrate_to_base_removes_the_tables_and_heads_brings_them_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cli(settings, monkeypatch, capsys, "migrate", "--to", "base")
    assert code == 0 and "base (no tables)" in out
    with opened_without_upgrade(settings) as database, database.engine.connect() as conn:
        assert "comments" not in inspect(conn).get_table_names()
    code, out, _ = cli(settings, monkeypatch, capsys, "migrate", "--to", "heads")
    assert code == 0 and ", ".join(code_heads()) in out


def test_an_unknown_revision_is_refused_naming_the_option(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(database.settings, monkeypatch, capsys, "migrate", "--to", "9999")
    assert code == 2
    assert err.startswith("migrate: --to: ") and "9999" in err


def _branchy_migrations(tmp_path: Path) -> Path:
    """This release's migrations plus two fictional branches off 0003, one two deep."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for revision, (parent, table) in BRANCHES.items():
        (folder / "versions" / f"{revision}_{table}.py").write_text(
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f"revision = {revision!r}\ndown_revision = {parent!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    op.create_table({table!r}, "
            "sa.Column('id', sa.Integer, primary_key=True))\n\n\n"
            f"def downgrade():\n    op.drop_table({table!r})\n")
    return folder


def _tables(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_a_revision_on_one_branch_moves_that_branch_only(
    settings: Settings, tmp_path: Path,
) -> None:
    folder = _branchy_migrations(tmp_path)
    database = Database(settings)
    try:
        heads = migrate_to(database, "heads", folder)
        assert {"9001", "9003"} <= set(heads)
        with database.write() as session:
            session.add(Comment(article_id="a", author_name="A", body="kept", body_html="kept"))
        # Down on branch b only: 9003 goes, 9001 and the other branches stay.
        heads = migrate_to(database, "9002", folder)
        assert "9002" in heads and "9001" in heads and "9003" not in heads
        assert "branch_b_more" not in _tables(database)
        assert {"branch_a_notes", "branch_b_flags"} <= _tables(database)
        # Every branch down to their common parent, then up one branch alone.
        assert migrate_to(database, "0003", folder) == ("0003",)
        assert migrate_to(database, "9001", folder) == ("9001",)
        assert migrate_to(database, "heads", folder) == tuple(
            sorted(set(code_heads(folder))))
        with database.read() as session:
            assert session.scalar(select(func.count()).select_from(Comment)) == 1
        with pytest.raises(MigrationTargetError, match="--to"):
            migrate_to(database, "nope", folder)
    finally:
        database.dispose()


def test_plain_alembic_runs_with_the_packaged_ini(settings: Settings) -> None:
    database = Database(settings)
    upgrade(database)
    database.dispose()
    alembic = [str(Path(sys.executable).parent / "alembic"), "-c", str(ALEMBIC_INI)]
    env = {**service_env(settings), "PATH": os.environ.get("PATH", "")}
    current = subprocess.run([*alembic, "current"], capture_output=True, text=True, env=env,
                             timeout=60, cwd=settings.var_dir)
    assert current.returncode == 0, current.stderr
    assert all(head in current.stdout for head in code_heads())
    def versions() -> list[str]:
        with sqlite3.connect(settings.var_dir / "comments.db") as conn:
            return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))

    for step, expected in ((["downgrade", "0003"], ["0003"]),
                           (["upgrade", "heads"], list(code_heads()))):
        result = subprocess.run([*alembic, *step], capture_output=True, text=True, env=env,
                                timeout=60, cwd=settings.var_dir)
        assert result.returncode == 0, result.stderr
        assert versions() == expected


@contextmanager
def opened_without_upgrade(settings: Settings) -> Iterator[Database]:
    """The database as it is, without migrating it first."""
    database = Database(settings)
    try:
        yield database
    finally:
        database.dispose()
