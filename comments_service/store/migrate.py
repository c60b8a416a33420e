"""Bringing a database to the current schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from comments_service.store.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Apply every migration not yet applied; safe to run from several processes at once."""
    config = alembic_config(database)
    with database.engine.connect() as connection:
        if database.is_sqlite:
            # IMMEDIATE: a second worker starting at the same moment waits for the first
            # to finish instead of failing with "database is locked" halfway through.
            connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if not database.is_sqlite:
                # Two service processes starting together must not both create the tables.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7283401)")
            config.attributes["connection"] = connection
            # "heads": features developed side by side add migrations on branches off the
            # same parent; every branch is applied (a merge revision joins them later).
            command.upgrade(config, "heads")
