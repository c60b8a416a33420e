"""Alembic migrations of the comments database."""
