"""Several real service processes on one database: no lost or doubled posts, one rate limit,
and a write through any process visible in the next read from every other."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import make_settings
from service_support import OPEN, OTHER, Server, approve, payload, with_docs
from sqlalchemy import select

from comments_service.config import Settings
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.keyring import Keyring


class Cluster:
    """Two `comments-service serve` processes sharing one database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servers = [Server(settings), Server(settings)]
        self.database = Database(settings)

    def post(self, n: int, ip: str, body: str, article_id: str = OPEN) -> httpx.Response:
        server = self.servers[n % 2]
        return httpx.post(f"{server.url}/api/articles/{article_id}/comments",
                          json=payload(body=body), headers={"X-Forwarded-For": ip}, timeout=30)

    def thread(self, n: int, article_id: str, etag: str | None = None) -> httpx.Response:
        headers = {"If-None-Match": etag} if etag else {}
        return httpx.get(f"{self.servers[n].url}/api/articles/{article_id}/comments",
                         headers=headers, timeout=10)

    def count(self, n: int, article_id: str) -> int:
        response = httpx.get(f"{self.servers[n].url}/api/counts",
                             params=[("article", article_id), ("article", OTHER)], timeout=10)
        return response.json()[article_id]

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.database.dispose()


@pytest.fixture(scope="module")
def pg_cluster(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    name = f"comments_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    tmp_path = tmp_path_factory.mktemp("cluster")
    settings = with_docs(
        make_settings(tmp_path, database_url=f"{base}/{name}"), tmp_path,
        trusted_proxies=["127.0.0.1"], rate_limit_count=5,
    )
    cluster = Cluster(settings)
    yield cluster
    cluster.close()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_concurrent_posts_to_two_processes_are_all_stored_once(pg_cluster: Cluster) -> None:
    marker = secrets.token_hex(4)

    def send(n: int) -> httpx.Response:
        return pg_cluster.post(n, f"192.0.2.{n + 1}", f"Concurrent post {marker} number {n}.")

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(send, range(40)))

    assert [r.status_code for r in responses] == [202] * 40
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 40
    with pg_cluster.database.read() as session:
        rows = session.execute(
            select(Comment.id, Comment.body).where(Comment.body.like(f"%{marker}%"))
        ).all()
    assert sorted(row.id for row in rows) == sorted(ids)
    assert sorted(row.body for row in rows) == sorted(
        f"Concurrent post {marker} number {n}." for n in range(40))


@pytest.mark.postgres
def test_two_processes_share_one_rate_limit(pg_cluster: Cluster) -> None:
    ip = "198.51.100.77"

    def send(n: int) -> httpx.Response:
        return pg_cluster.post(n, ip, f"Rate limited post number {n}.")

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(send, range(12)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 5 + [429] * 7
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    ip_hash = Keyring(pg_cluster.settings.secret()).ip_hash(ip)
    with pg_cluster.database.read() as session:
        stored = session.scalars(select(Comment.id).where(Comment.ip_hash == ip_hash)).all()
    assert len(stored) == 5


@pytest.mark.postgres
def test_a_write_is_seen_by_the_next_read_in_every_process(pg_cluster: Cluster) -> None:
    check_cache_coherence(pg_cluster, OTHER)


def check_cache_coherence(cluster: Cluster, article_id: str) -> None:
    # Warm both processes' caches.
    before = [cluster.thread(n, article_id) for n in (0, 1)]
    assert before[0].json() == before[1].json()
    assert before[0].headers["etag"] == before[1].headers["etag"]
    counted = [cluster.count(n, article_id) for n in (0, 1)]
    assert counted[0] == counted[1] == before[0].json()["count"]

    posted = cluster.post(0, "203.0.113.50", "Posted through the first process.", article_id)
    comment_id = posted.json()["id"]
    approve(cluster.database, comment_id)

    for n in (0, 1):
        response = cluster.thread(n, article_id, etag=before[n].headers["etag"])
        assert response.status_code == 200
        assert comment_id in [c["id"] for c in response.json()["comments"]]
    etags = {cluster.thread(n, article_id).headers["etag"] for n in (0, 1)}
    assert len(etags) == 1 and before[0].headers["etag"] not in etags
    assert [cluster.count(n, article_id) for n in (1, 0)] == [counted[0] + 1] * 2

    with cluster.database.write() as session:
        session.get(Comment, comment_id).status = CommentStatus.DELETED
        thread_versions.touch_thread(session, article_id)
    for n in (1, 0):
        ids = [c["id"] for c in cluster.thread(n, article_id).json()["comments"]]
        assert comment_id not in ids
        assert cluster.count(n, article_id) == counted[0]


def test_cache_coherence_across_processes_on_sqlite(settings: Settings, tmp_path: Path) -> None:
    cluster = Cluster(with_docs(settings, tmp_path, trusted_proxies=["127.0.0.1"]))
    try:
        check_cache_coherence(cluster, OPEN)
    finally:
        cluster.close()
