"""Growth pass: how the cost of each read, post and staff query grows with stored comments.

For each size (10,000, 100,000, 1,000,000 comments across 10,000 articles; --growth-sizes)
and each database (SQLite file; PostgreSQL unless --skip-postgres), a database is seeded
in bulk (bulk_seed), then measured in this process through the verbs the service runs,
without HTTP (constant at every size) and without the thread cache (it would hide the
query): median milliseconds of REPEAT runs each. Printed as one table per database with
the ratio to the smallest size, the targets marked, and the file or table sizes.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text

from benchlib import bulk_seed
from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import Comment
from comments_service.verbs import (
    comments,
    json_bytes,
    public_threads,
    thread_pages,
    thread_query,
)
from comments_service.verbs.archive.document import Options
from comments_service.verbs.archive.export import export_row
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Moderation, QueueFilter
from comments_service.verbs.thread_cache import ThreadCache

SIZES = (10_000, 100_000, 1_000_000)
REPEAT = 15
SECRET = "g" * 40
# Each case: (label, target kind). "flat": within 1.2x its cost at the smallest size;
# "staff": under 100 ms at the largest.
CASES = (("GET thread (50, uncached)", "flat"), ("counts x8", "flat"), ("POST", "flat"),
         ("queue, first page", "staff"), ("tab counts", "staff"),
         ("article filter menu", "staff"), ("search by text", "staff"),
         ("search by email", "staff"), ("export one article", "staff"))


@dataclass
class GrowthTable:
    database: str
    sizes: list[int] = field(default_factory=list)
    seed_seconds: list[float] = field(default_factory=list)
    storage: list[str] = field(default_factory=list)
    ms: dict[str, list[float]] = field(default_factory=dict)
    big: dict[str, float] = field(default_factory=dict)
    plans: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The table, the ratio to the smallest size beside each figure."""
        head = f"{'':28}" + "".join(f"{n:>20,}" for n in self.sizes) + "  target"
        out = [f"Growth on {self.database} (median ms of {REPEAT}; x = ratio to "
               f"{self.sizes[0]:,})", head]
        for label, kind in CASES:
            values = self.ms.get(label, [])
            if not values:
                continue
            cells = "".join(f"{v:>10.2f} ms {v / values[0]:>5.2f}x" for v in values)
            if kind == "flat":
                ok = all(v <= 1.2 * values[0] for v in values)
                verdict = f"<= 1.2x: {'PASS' if ok else 'FAIL'}"
            else:
                verdict = f"< 100 ms at max: {'PASS' if values[-1] < 100 else 'FAIL'}"
            out.append(f"{label:28}{cells}  {verdict}")
        out.append(f"{'seed (s)':28}" + "".join(f"{s:>20.1f}" for s in self.seed_seconds))
        out.append(f"{'storage':28}" + "".join(f"{s:>20}" for s in self.storage))
        if self.big:
            out.append(f"Big threads at {self.sizes[0]:,} stored comments (median ms of 7):")
            out += [f"  {label:44}{value:>9.2f} ms" for label, value in self.big.items()]
        if self.plans:
            out.append(f"Query plans at {self.sizes[-1]:,}:")
            out += [f"  {line}" for line in self.plans]
        return out


def _median_ms(action: Callable[[], Any], repeat: int = REPEAT) -> float:
    action()  # the first run warms the page cache and the statement cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _settings(root: Path, url: str) -> Settings:
    return Settings(database_url=url, var_dir=root / "var", docs_dir=root / "docs",
                    secret_key=SECRET, rate_limit_count=10**6,
                    rate_limit_address_count=10**6, notify_interval_seconds=0)


def _write_docs(docs: Path) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    for article in [bulk_seed.THREAD_ARTICLE] + [f"article-{n:05d}" for n in range(8)]:
        (docs / f"{article}.md").write_text(
            f"---\ntitle: {article}\ndescription: A generated article.\nid: {article}\n"
            f"updated: 2026-01-01\n---\n\nText.\n")


def measure(database: Database, keyring: Keyring, catalog: Catalog) -> dict[str, float]:
    """Median ms of each case against what the database holds now."""
    settings = database.settings
    moderation = Moderation(database, keyring)
    articles = [f"article-{n:05d}" for n in range(8)]
    posted = iter(range(10**6))

    def thread() -> None:
        with database.read() as session:
            json_bytes.dumps(public_threads.thread(session, bulk_seed.THREAD_ARTICLE))

    def counts() -> None:
        with database.read() as session:
            public_threads.counts(session, articles)

    def post() -> None:
        n = next(posted)
        comments.submit(database, settings, keyring, catalog, articles[n % 8], {
            "author": "Growth Reader", "email": f"growth{n}@example.org",
            "body": f"A comment posted while measuring growth, number {n} {time.time()}.",
            "accept_terms": True}, f"198.51.100.{n % 250}")

    def export() -> None:
        table = Comment.__table__
        with database.read() as session:
            rows = session.execute(select(table).where(
                table.c.article_id == articles[3]).order_by(table.c.id)).all()
            json.dumps([export_row(table, row, Options(), keyring) for row in rows],
                       default=str)

    cases: dict[str, Callable[[], Any]] = {
        "GET thread (50, uncached)": thread,
        "counts x8": counts,
        "POST": post,
        "queue, first page": lambda: moderation.queue(QueueFilter()),
        "tab counts": moderation.counts,
        "article filter menu": moderation.article_ids,
        "search by text": lambda: moderation.queue(
            QueueFilter(status="all", query=bulk_seed.topic(417))),
        "search by email": lambda: moderation.queue(
            QueueFilter(status="all", query=bulk_seed.reader_email(1234))),
        "export one article": export,
    }
    return {label: _median_ms(action) for label, action in cases.items()}


BIG_THREADS = (1_000, 5_000)


def plans(database: Database, keyring: Keyring) -> list[str]:
    """EXPLAIN (QUERY PLAN) of the statements the thread read, the queue and its two
    searches run, as the database plans them at this size."""
    moderation = Moderation(database, keyring)
    actions: dict[str, Callable[[], Any]] = {
        "thread": lambda: _read_thread(database),
        "counts": lambda: _read_counts(database),
        "queue": lambda: moderation.queue(QueueFilter()),
        "search by text": lambda: moderation.queue(
            QueueFilter(status="all", query=bulk_seed.topic(417))),
        "search by email": lambda: moderation.queue(
            QueueFilter(status="all", query=bulk_seed.reader_email(1234))),
    }
    out = []
    for label, action in actions.items():
        seen: list[Any] = []

        def remember(conn, clause, multiparams, params, options,  # type: ignore[no-untyped-def]
                     seen: list[Any] = seen) -> None:
            seen.append(clause)

        event.listen(database.engine, "before_execute", remember)
        try:
            action()
        finally:
            event.remove(database.engine, "before_execute", remember)
        for statement in seen[:2]:
            with database.engine.connect() as connection:
                sql = str(statement.compile(dialect=connection.dialect,
                                            compile_kwargs={"literal_binds": True}))
                if database.is_sqlite:
                    rows = [str(r[-1]) for r in
                            connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
                else:
                    rows = [r[0] for r in connection.exec_driver_sql(f"EXPLAIN {sql}")]
            first = " ".join(sql.split())
            out.append(f"-- {label}: {first[:160]}{'...' if len(first) > 160 else ''}")
            out += rows
    return out


def _read_thread(database: Database) -> None:
    with database.read() as session:
        public_threads.thread(session, bulk_seed.THREAD_ARTICLE)


def _read_counts(database: Database) -> None:
    with database.read() as session:
        public_threads.counts(session, [f"article-{n:05d}" for n in range(8)])


def big_threads(database: Database, keyring: Keyring) -> dict[str, float]:
    """The first API page of a 50-, 1,000- and 5,000-comment thread: as a cache miss
    (after any write to the thread) and from the thread cache."""
    for size in BIG_THREADS:
        bulk_seed.seed_thread(database, keyring, f"big-{size}", size)
    cache = ThreadCache(database)
    request = thread_pages.PageRequest(limit=database.settings.page_size)
    figures = {}
    for article in [bulk_seed.THREAD_ARTICLE] + [f"big-{n}" for n in BIG_THREADS]:

        def whole(article: str = article) -> None:
            # Before issue #14: the whole thread read and serialised, then the page cut.
            with database.read() as session:
                document = public_threads.thread(session, article)
            body = json_bytes.dumps(document)
            json_bytes.dumps(thread_pages.page(json.loads(body)["comments"], request))

        def miss(article: str = article) -> None:
            # What ThreadCache.page does on a miss: the database pages.
            with database.read() as session:
                json_bytes.dumps(thread_query.page_document(session, article, request))

        def hit(article: str = article) -> None:
            cache.thread(article).page(article, request)

        figures[f"{article} first page, miss (whole thread)"] = _median_ms(whole, 7)
        figures[f"{article} first page, miss (paged)"] = _median_ms(miss, 7)
        figures[f"{article} first page, cached"] = _median_ms(hit, 7)
    cache.close()
    return figures


def storage(database: Database, path: Path | None) -> str:
    """The SQLite file (with its WAL) or the PostgreSQL table with its indexes, in MB."""
    if path is not None:
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")
                   if not p.name.endswith("write-lock"))
        return f"{size / 1e6:,.0f} MB file"
    with database.engine.connect() as connection:
        table, total = connection.execute(text(
            "SELECT pg_table_size('comments'), pg_total_relation_size('comments')")).one()
    return f"{table / 1e6:,.0f}+{(total - table) / 1e6:,.0f} MB idx"


def run(sizes: list[int], pg_url: str | None, log: Callable[[str], None],
        create_pg: Callable[[], str] | None = None,
        drop_pg: Callable[[str], None] | None = None) -> list[GrowthTable]:
    """Seed and measure every size on SQLite, then on PostgreSQL when pg_url is given."""
    tables = []
    backends = ["SQLite"] + (["PostgreSQL"] if pg_url and create_pg else [])
    for backend in backends:
        table = GrowthTable(backend)
        for size in sizes:
            root = Path(tempfile.mkdtemp(prefix="comments-growth-"))
            _write_docs(root / "docs")
            name = None
            if backend == "SQLite":
                path = root / "var" / "comments.db"
                url = f"sqlite:///{path}"
            else:
                path = None
                name = create_pg()  # type: ignore[misc]
                url = pg_url.rstrip("/") + "/" + name  # type: ignore[union-attr]
            settings = _settings(root, url)
            database = Database(settings)
            try:
                upgrade(database)
                keyring = Keyring(settings.secret())
                log(f"growth: seeding {size:,} comments on {backend}")
                report = bulk_seed.seed(database, keyring, size)
                log(f"growth: seeded in {report.seconds:.1f} s; measuring")
                catalog = Catalog(settings.docs_dir)
                for label, value in measure(database, keyring, catalog).items():
                    table.ms.setdefault(label, []).append(value)
                table.sizes.append(size)
                table.seed_seconds.append(report.seconds)
                table.storage.append(storage(database, path))
                if size == sizes[-1]:
                    table.plans = plans(database, keyring)
                if size == sizes[0]:
                    table.big = big_threads(database, keyring)
            finally:
                database.dispose()
                if name and drop_pg:
                    drop_pg(name)
                for leftover in sorted(root.rglob("*"), reverse=True):
                    leftover.unlink() if leftover.is_file() else leftover.rmdir()
                os.rmdir(root)
        tables.append(table)
    return tables
