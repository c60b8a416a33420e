"""Bringing a database to the current schema with Alembic, or to a named revision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from comments_service.store.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# For operators who run plain `alembic -c .../alembic.ini`; the service needs none of it.
ALEMBIC_INI = Path(__file__).parent / "alembic.ini"


class MigrationTargetError(ValueError):
    """A revision asked for that the migrations do not know; ``field`` names the option."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def alembic_config(database: Database, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


@contextmanager
def _migration_connection(database: Database, config: Config) -> Iterator[Connection]:
    """A connection in one transaction that other migrating processes wait for."""
    with database.engine.connect() as connection:
        if database.is_sqlite:
            # IMMEDIATE: a second worker starting at the same moment waits for the first
            # to finish instead of failing with "database is locked" halfway through.
            connection.execution_options(sqlite_begin="IMMEDIATE")
            # A batch migration rebuilds a table (copy, drop, rename), which references
            # to it would refuse. On the driver's connection, outside any transaction: inside
            # one the pragma does nothing.
            _foreign_keys(connection, on=False)
        try:
            with connection.begin():
                if not database.is_sqlite:
                    # Two service processes starting together must not both create tables.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7283401)")
                config.attributes["connection"] = connection
                yield connection
                if database.is_sqlite:
                    _check_references(connection)
        finally:
            if database.is_sqlite:
                _foreign_keys(connection, on=True)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_references(connection: Connection) -> None:
    """Roll the migration back if it left a reference to a row that is not there."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration broke references: {broken[:5]}")


def upgrade(database: Database) -> None:
    """Apply every migration not yet applied; safe to run from several processes at once."""
    config = alembic_config(database)
    with _migration_connection(database, config):
        # "heads": features developed side by side add migrations on branches off the
        # same parent; every branch is applied (a merge revision joins them later).
        command.upgrade(config, "heads")


def code_heads(migrations_dir: Path = MIGRATIONS_DIR) -> tuple[str, ...]:
    """The head revisions this release's migrations end in, sorted."""
    script = ScriptDirectory(str(migrations_dir))
    return tuple(sorted(script.get_heads()))


def known_revisions(migrations_dir: Path = MIGRATIONS_DIR) -> set[str]:
    """Every revision id this release's migrations define."""
    script = ScriptDirectory(str(migrations_dir))
    return {rev.revision for rev in script.walk_revisions()}


def current_heads(connection: Connection) -> tuple[str, ...]:
    """The revisions the database says it is at (empty before the first migration)."""
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def migrate_to(database: Database, target: str,
               migrations_dir: Path = MIGRATIONS_DIR) -> tuple[str, ...]:
    """Upgrade or downgrade to ``target`` ("heads", "base" or a revision on any branch).

    A revision already applied is a downgrade: every applied revision that depends on it
    is reverted, and branches that do not are left alone. A revision not yet applied is
    an upgrade to it and whatever it depends on. Returns the heads the database ends at.
    """
    config = alembic_config(database, migrations_dir)
    script = ScriptDirectory.from_config(config)
    if target not in ("heads", "base"):
        try:
            revision = script.get_revision(target)
        except CommandError as exc:
            raise MigrationTargetError("--to", str(exc)) from exc
        if revision is None:
            known = ", ".join(sorted(known_revisions(migrations_dir)))
            raise MigrationTargetError(
                "--to", f"unknown revision {target!r}; use heads, base or one of: {known}")
        target = revision.revision
    with _migration_connection(database, config) as connection:
        applied = {
            rev.revision
            for head in current_heads(connection)
            for rev in script.walk_revisions("base", head)
        }
        if target == "heads":
            command.upgrade(config, "heads")
        elif target == "base":
            command.downgrade(config, "base")
        elif target in applied:
            # Alembic reverts only what depends on the target; other branches stay.
            command.downgrade(config, target)
        else:
            command.upgrade(config, target)
        return current_heads(connection)
