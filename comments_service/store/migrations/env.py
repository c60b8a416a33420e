"""Alembic environment: runs migrations on the connection the service hands over."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from comments_service.config import Settings
from comments_service.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    # Plain `alembic -c .../alembic.ini`: the service's own settings name the database.
    url = config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
