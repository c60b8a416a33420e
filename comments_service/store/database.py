"""Database engine and transactions: built from Settings, never at import time."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from comments_service.config import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


# A pooled server connection unused for longer than this is checked before it is handed
# out; see _ping_after_idle.
PING_AFTER_IDLE_SECONDS = 5.0
# Longest wait for a new PostgreSQL connection before the request fails as an outage.
CONNECT_TIMEOUT_SECONDS = 5


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.resolved_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._gate: WriteGate | None = None
        if self.is_sqlite:
            db_path = self.url.removeprefix("sqlite:///")
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
                self._gate = WriteGate.acquire(Path(f"{db_path}.write-lock"))
            self.engine: Engine = create_engine(
                self.url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=8,
                max_overflow=8,
            )
            _configure_sqlite(self.engine)
        else:
            # Up to 15 connections per process, as before, but 10 kept open: the pool closes
            # an overflow connection as soon as it is returned, so with 5 kept a burst of
            # posts opened a new PostgreSQL backend (milliseconds of server CPU) for nearly
            # every other request.
            # connect_timeout: a server that does not answer at all (a dropped route, not a
            # refusal) makes requests answer 503 after 5 s instead of hanging for minutes.
            self.engine = create_engine(self.url, pool_size=10, max_overflow=5,
                                        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
            _ping_after_idle(self.engine)
            _plan_each_execution(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed.

        On PostgreSQL it runs in autocommit: at READ COMMITTED each statement sees its own
        snapshot inside a transaction too, so BEGIN and the ROLLBACK at the end were two
        round trips that changed no answer. Never write in it.
        """
        with self._sessions() as session:
            if not self.is_sqlite:
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    @contextmanager
    def single_statement(self) -> Iterator[Connection]:
        """A PostgreSQL connection in autocommit, for one statement that is its own
        transaction (one round trip, no BEGIN or COMMIT), such as comments_admit()."""
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on error.

        On SQLite the transaction begins IMMEDIATE, so concurrent writers queue instead of
        failing halfway with "database is locked"; with a database file they queue on the
        WriteGate first, which wakes the next writer as soon as one commits.
        """
        if self._gate is None:
            with self._write_session() as session:
                yield session
            return
        with self._gate.held(), self._write_session() as session:
            yield session

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        with self._sessions() as session:
            if self.is_sqlite:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
        if self._gate is not None:
            self._gate.release()
            self._gate = None


class WriteGate:
    """Lets one SQLite writer at a time in, across threads and processes, without polling.

    SQLite serialises writers itself, but a writer that finds the database locked sleeps
    in its busy handler (1, 2, 5 ... 100 ms) and retries, so under a burst of posts most
    of the time goes to sleeping, and an unlucky post waits seconds. Queueing on a lock
    (a thread lock within the process, an flock on a file beside the database across
    processes) wakes the next writer the moment the previous one commits. Other programs
    writing the file without this gate are still handled by the busy timeout.

    There is one gate per lock file per process (see acquire), so two Database objects on
    one file share it: a thread that nests their writes gets SQLite's busy timeout, as
    before, rather than waiting on itself for ever.
    """

    _registry: dict[Path, WriteGate] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users = 0
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._fd_pid = 0

    @classmethod
    def acquire(cls, path: Path) -> WriteGate:
        """This process's gate for the lock file, shared by every Database on it."""
        key = path.absolute()
        with cls._registry_lock:
            gate = cls._registry.get(key)
            if gate is None:
                gate = cls._registry[key] = cls(key)
            gate._users += 1
            return gate

    def release(self) -> None:
        """One Database is done with the gate; the last one closes the descriptor."""
        with WriteGate._registry_lock:
            self._users -= 1
            if self._users > 0:
                return
            WriteGate._registry.pop(self.path, None)
        with self._lock:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate for the block; re-entrant within a thread."""
        with self._lock:
            if self._depth == 0:
                self._lock_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._unlock_file()

    def _lock_file(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows: the thread lock and busy timeout
            return
        # A descriptor inherited across fork would share its lock with the parent, so
        # each process opens its own.
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us issue BEGIN ourselves (IMMEDIATE for writes) instead of pysqlite's
        # deferred implicit transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a comment acknowledged with 202 is on disk even after kill -9 or power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # 512 KiB of page cache per connection instead of SQLite's 2 MB: a worker keeps up
        # to 16 connections, the hot reads are cached above the database anyway, and the
        # operating system caches the file for every connection at once (issue #14).
        cursor.execute("PRAGMA cache_size=-512")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Reads get a deferred transaction; write() asks for IMMEDIATE.
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    SQLAlchemy's pool_pre_ping checks every connection on every checkout: one more round
    trip per transaction, about a tenth of a post's time on PostgreSQL. A connection in
    steady use cannot have gone stale unnoticed (an error on it makes the pool replace all
    of its connections); one left idle may have been dropped by a server restart or a
    firewall, so that is the one to check. A failed check raises DisconnectionError, which
    makes the pool open a fresh connection instead.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection was dropped while idle") from exc


def _plan_each_execution(engine: Engine) -> None:
    """Have PostgreSQL plan each run of a prepared statement for the table as it is now.

    psycopg prepares a statement on its fifth run, and PostgreSQL may then keep one generic
    plan for the life of the connection. Chosen while the comments table was nearly empty,
    that plan scans the whole table for the rate-limit and duplicate checks, and it is
    only replaced after an ANALYZE, which never comes where autovacuum is off: measured,
    posts on one connection pool fell from 900 to 400 a second within 30 s. Custom plans
    keep what preparing saves (parsing) and use the index once the table has grown.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        finally:
            cursor.close()
        # Committed, so the pool's rollback on return does not undo it.
        dbapi_connection.commit()
