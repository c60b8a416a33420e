"""Per-process cache of each thread's JSON bytes, checked against the shared thread version.

Every write that changes a public thread bumps ``thread_versions`` (threads.touch_thread)
inside its transaction. A read asks the database for that one integer over a dedicated
connection and, when it matches the cached entry, serves the cached bytes: no ORM, no
rendering, no JSON encoding. Because the version lives in the database, a write in any
process invalidates the cache in all of them.

The version is read before the thread is loaded, so a cached body is never older than the
version it is filed under (a write in between only makes the body newer; the next read
sees the higher version and reloads).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from comments_service.store.database import Database
from comments_service.store.outages import DatabaseUnavailable, is_outage
from comments_service.verbs import json_bytes, public_threads, thread_pages, thread_query

# Distinct lists of ids whose counts answer is kept (index pages ask for a few lists).
COUNT_BODIES = 256
# Thread versions a reader remembers between commits (SQLite only; see VersionReader).
MAX_KNOWN_VERSIONS = 8192
# Distinct pages kept per cached thread: the first page in each order, and the pages the
# live script re-reads while readers have more than one loaded.
PAGES_PER_THREAD = 16
# Pages read on their own (ThreadCache.page, with no whole thread cached), kept by article,
# request and thread version, within a quarter of the cache's byte budget.
LOOSE_PAGES = 1024
_VERSIONS_SQL = "SELECT article_id, version FROM thread_versions WHERE article_id IN ({ps})"


@dataclass(frozen=True)
class CachedThread:
    """One article's serialised public thread as of a thread version."""

    version: int
    body: bytes
    etag: str
    count: int
    # PageRequest.key -> (body, etag); filled as pages are asked for, gone with the entry.
    pages: dict[tuple[Any, ...], tuple[bytes, str]] = field(default_factory=dict, compare=False)

    def page(self, article_id: str, request: thread_pages.PageRequest) -> tuple[bytes, str]:
        """One page of this thread as JSON bytes and its ETag; KeyError for an unknown
        ``around`` comment."""
        found = self.pages.get(request.key)
        if found is not None:
            return found
        # Read back from the cached bytes rather than kept as objects beside them: a page is
        # asked for once per thread version, and the objects would weigh several times more.
        part = thread_pages.page(json.loads(self.body)["comments"], request)
        body = json_bytes.dumps({
            "article_id": article_id, "count": self.count, "order": request.order,
            "limit": request.limit, **part,
        })
        found = (body, _etag(body))
        if len(self.pages) >= PAGES_PER_THREAD:
            self.pages.clear()
        self.pages[request.key] = found
        return found


def _etag(body: bytes) -> str:
    # From the content, not the version: equal across processes and database resets,
    # and unchanged when a write leaves the public thread as it was (a reject, say).
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class VersionReader:
    """Reads thread versions over one autocommit DBAPI connection kept for the purpose.

    Autocommit makes each read a single round trip (no BEGIN/ROLLBACK, no pool ping). The
    connection is reopened once if the database dropped it. On SQLite, versions already read
    are remembered for as long as ``PRAGMA data_version`` stays the same: SQLite changes it
    whenever any other connection, in any process, commits to the file, and this connection
    never writes, so an unchanged value means no version can have moved.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._connection: Any = None
        self._placeholder = "?" if database.is_sqlite else "%s"
        self._data_version: int | None = None
        self._known: dict[str, int] = {}

    def version(self, article_id: str) -> int:
        return self.versions([article_id])[article_id]

    def versions(self, article_ids: list[str]) -> dict[str, int]:
        """The current version of each article (0 before its first change).

        Raises DatabaseUnavailable when the database cannot be asked.
        """
        if not article_ids:
            return {}
        try:
            return self._versions(article_ids)
        except Exception as exc:
            # The driver's own errors arrive unwrapped here (a raw DBAPI connection).
            if is_outage(exc) or isinstance(exc, self._database.engine.dialect.loaded_dbapi.Error):
                raise DatabaseUnavailable(f"cannot read thread versions: {exc}") from exc
            raise

    def _versions(self, article_ids: list[str]) -> dict[str, int]:
        with self._lock:
            known = self._current_known()
            missing = [a for a in dict.fromkeys(article_ids) if a not in known]
            if missing:
                sql = _VERSIONS_SQL.format(ps=", ".join([self._placeholder] * len(missing)))
                found = {str(a): int(v) for a, v in self._query(sql, tuple(missing))}
                for article_id in missing:
                    known[article_id] = found.get(article_id, 0)
                if len(known) > MAX_KNOWN_VERSIONS:
                    known.clear()
                    known.update((a, found.get(a, 0)) for a in missing)
            return {article_id: known[article_id] for article_id in article_ids}

    def _current_known(self) -> dict[str, int]:
        """The versions still known to be current (always none on PostgreSQL)."""
        if not self._database.is_sqlite:
            self._known.clear()
            return self._known
        data_version = self._query("PRAGMA data_version", ())[0][0]
        if data_version != self._data_version:
            self._known.clear()
            self._data_version = data_version
        return self._known

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        # Called with self._lock held.
        for attempt in (1, 2):
            try:
                connection = self._connect()
                cursor = connection.cursor()
                try:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            except self._database.engine.dialect.loaded_dbapi.Error:
                self._discard()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> Any:
        if self._connection is None:
            proxy = self._database.engine.raw_connection()
            driver = proxy.driver_connection
            # Detached: ours for good, never handed back to the pool mid-transaction.
            proxy.detach()
            if not self._database.is_sqlite:
                driver.rollback()
                driver.autocommit = True
            # SQLite connections are already in autocommit (db.py sets isolation_level=None).
            self._connection = driver
        return self._connection

    def _discard(self) -> None:
        # data_version values are per connection: a new one starts with nothing known.
        self._data_version = None
        self._known.clear()
        if self._connection is not None:
            # Already broken; closing is a courtesy, reopening is the fix.
            with contextlib.suppress(Exception):
                self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._discard()


class ThreadCache:
    """Serialised threads and comment counts, keyed by article and thread version."""

    def __init__(self, database: Database, max_entries: int = 4096,
                 max_bytes: int = 16 * 1024 * 1024) -> None:
        self.database = database
        self.stale_if_error_seconds = database.settings.stale_if_error_seconds
        # When each cached thread was last confirmed current (time.monotonic()): during an
        # outage an entry is served for stale_if_error_seconds after that, and no longer.
        self._confirmed: dict[str, float] = {}
        self.versions = VersionReader(database)
        self.max_entries = max_entries
        # A byte budget keeps a process's memory flat however many threads get read.
        self.max_bytes = max_bytes
        self._bytes = 0
        self._threads: OrderedDict[str, CachedThread] = OrderedDict()
        self._counts: dict[str, tuple[int, int]] = {}
        self._count_bodies: dict[tuple[str, ...], tuple[tuple[int, ...], bytes]] = {}
        # (article_id, PageRequest.key) -> (version, body, etag, when confirmed current).
        self._pages: dict[tuple[str, tuple[Any, ...]], tuple[int, bytes, str, float]] = {}
        self._pages_bytes = 0
        self._lock = threading.Lock()

    def thread(self, article_id: str) -> CachedThread:
        """The article's current public thread, from cache when its version still matches.

        When the database cannot be asked, the cached thread is served for up to
        stale_if_error_seconds after it was last known current; past that (or with nothing
        cached) the outage is raised (DatabaseUnavailable or SQLAlchemy's error).
        """
        try:
            version = self.versions.version(article_id)
        except DatabaseUnavailable:
            entry = self._threads.get(article_id)
            if entry is not None and self._fresh_enough(article_id):
                return entry
            raise
        entry = self._threads.get(article_id)
        if entry is not None and entry.version == version:
            self._confirmed[article_id] = time.monotonic()
            return entry
        with self.database.read() as session:
            document = public_threads.thread(session, article_id)
        body = json_bytes.dumps(document)
        entry = CachedThread(version=version, body=body, etag=_etag(body),
                             count=document["count"])
        self._store(article_id, entry)
        self._confirmed[article_id] = time.monotonic()
        return entry

    def page(self, article_id: str, request: thread_pages.PageRequest) -> tuple[bytes, str]:
        """One page of the article's current thread as JSON bytes and its ETag; KeyError
        for an ``around`` comment not published there.

        From the cached whole thread when it is current; otherwise the database pages
        (verbs/thread_query.py), so a miss on a big thread reads one page, not all of it.
        The bytes are the same either way. Outages are served as thread() serves them.
        """
        slot = (article_id, request.key)
        try:
            version = self.versions.version(article_id)
        except DatabaseUnavailable:
            entry = self._threads.get(article_id)
            if entry is not None and self._fresh_enough(article_id):
                return entry.page(article_id, request)
            loose = self._pages.get(slot)
            if loose is not None and (time.monotonic() - loose[3]
                                      <= self.stale_if_error_seconds):
                return loose[1], loose[2]
            raise
        entry = self._threads.get(article_id)
        if entry is not None and entry.version == version:
            self._confirmed[article_id] = time.monotonic()
            return entry.page(article_id, request)
        loose = self._pages.get(slot)
        if loose is not None and loose[0] == version:
            self._pages[slot] = (*loose[:3], time.monotonic())
            return loose[1], loose[2]
        with self.database.read() as session:
            document = thread_query.page_document(session, article_id, request)
        body = json_bytes.dumps(document)
        etag = _etag(body)
        with self._lock:
            if (len(self._pages) >= LOOSE_PAGES
                    or self._pages_bytes + len(body) > self.max_bytes // 4):
                self._pages.clear()
                self._pages_bytes = 0
            previous = self._pages.pop(slot, None)
            self._pages_bytes += len(body) - (len(previous[1]) if previous else 0)
            self._pages[slot] = (version, body, etag, time.monotonic())
            if len(self._counts) >= self.max_entries:
                self._counts.clear()
            self._counts[article_id] = (version, document["count"])
        return body, etag

    def _fresh_enough(self, article_id: str) -> bool:
        confirmed = self._confirmed.get(article_id)
        return (confirmed is not None
                and time.monotonic() - confirmed <= self.stale_if_error_seconds)

    def counts(self, article_ids: Iterable[str]) -> dict[str, int]:
        """Approved comment counts, one version query plus a count query only for changes."""
        ids = list(dict.fromkeys(article_ids))
        return self._counts_at(ids, self.versions.versions(ids))

    def counts_body(self, article_ids: Iterable[str]) -> bytes:
        """counts() as the JSON the API answers, cached per list of ids and their versions.

        Index pages ask for the same list on every view, so the answer is usually the bytes
        of the last one: one version query, no counting, no encoding.
        """
        ids = tuple(dict.fromkeys(article_ids))
        versions = self.versions.versions(list(ids))
        stamp = tuple(versions[article_id] for article_id in ids)
        cached = self._count_bodies.get(ids)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = json_bytes.dumps(self._counts_at(list(ids), versions))
        with self._lock:
            if len(self._count_bodies) >= COUNT_BODIES:
                self._count_bodies.clear()
            self._count_bodies[ids] = (stamp, body)
        return body

    def _counts_at(self, ids: list[str], versions: dict[str, int]) -> dict[str, int]:
        result: dict[str, int] = {}
        stale: list[str] = []
        for article_id in ids:
            cached = self._counts.get(article_id)
            if cached is not None and cached[0] == versions[article_id]:
                result[article_id] = cached[1]
            else:
                stale.append(article_id)
        if stale:
            with self.database.read() as session:
                fresh = public_threads.counts(session, stale)
            with self._lock:
                if len(self._counts) >= self.max_entries:
                    self._counts.clear()
                for article_id in stale:
                    self._counts[article_id] = (versions[article_id], fresh[article_id])
            result.update(fresh)
        return {article_id: result[article_id] for article_id in ids}

    def _store(self, article_id: str, entry: CachedThread) -> None:
        with self._lock:
            previous = self._threads.pop(article_id, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._threads[article_id] = entry
            self._bytes += len(entry.body)
            # Oldest-stored first; the entry just stored always stays.
            while len(self._threads) > 1 and (
                len(self._threads) > self.max_entries or self._bytes > self.max_bytes
            ):
                evicted_id, evicted = self._threads.popitem(last=False)
                self._bytes -= len(evicted.body)
                self._confirmed.pop(evicted_id, None)
            if len(self._counts) >= self.max_entries:
                self._counts.clear()
            self._counts[article_id] = (entry.version, entry.count)

    def close(self) -> None:
        self.versions.close()
