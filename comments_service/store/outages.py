"""What counts as the database being unavailable, as opposed to a bug in our own code.

An outage (a refused or dropped connection, a full disk, a read-only file, a pool with no
connection to give) is answered 503 with Retry-After, so readers, proxies and monitors
know to come back; anything else stays a 500 with its traceback in the log.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

# Seconds a client is asked to wait before trying again during an outage.
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailable(Exception):
    """The database could not be reached or could not write; the cause is chained."""


# InternalError is how psycopg reports a read-only transaction (a standby, or
# default_transaction_read_only); OperationalError covers refused connections, SQLite's
# "database or disk is full" and "attempt to write a readonly database".
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    sqlite3.OperationalError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """True when error means the database is unavailable rather than our code being wrong."""
    return isinstance(error, OUTAGE_ERRORS)
