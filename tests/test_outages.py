"""Database outages answered honestly and recovered from without a restart.

SQLite on a full disk (a tiny tmpfs mounted for the test; without root, a database capped
with PRAGMA max_page_count stands in) and PostgreSQL behind a TCP proxy the test closes and
reopens (the machine's server is never touched): posts answer 503 with Retry-After in the
API's error shape, the no-JavaScript form and the staff pages answer an HTML 503, /healthz
says 503, cached threads are served for at most COMMENTS_STALE_IF_ERROR_SECONDS, and once
the disk or connection is back everything works again in the same process.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from service_support import OPEN, OTHER, app_client, approve, post, with_docs
from sqlalchemy import select, text
from staff_support import PASSWORD, AuthActions, fast_hashing, make_staff  # noqa: F401

from comments_service.config import Settings
from comments_service.store.models import Comment
from comments_service.verbs import notifications, spam

TMPFS_BYTES = 4 * 1024 * 1024
WAIT_SECONDS = 15.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll until condition() holds; a guard against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def assert_json_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "errors"} and "try again" in body["detail"]


def assert_html_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "Internal Server Error" not in response.text


def stored_bodies(client: TestClient) -> list[str]:
    with client.app.state.database.read() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(Comment.body).order_by(Comment.id)))


def form_post(client: TestClient, body: str) -> httpx.Response:
    """The no-JavaScript form, as a baked page sends it (with its signed token)."""
    token = spam.form_token(client.app.state.keyring.signing_key, OPEN)  # type: ignore[attr-defined]
    return client.post("/comments", data={
        "article_id": OPEN, "author": "Noor Reader", "email": "noor@example.org",
        "body": body, "accept_terms": "yes", spam.FORM_TOKEN_FIELD: token})


@contextlib.contextmanager
def routed_path(client: TestClient) -> Iterator[None]:
    """Requests through FastAPI's routes instead of the fast path, which answers the same."""
    fast_path = client.app.fast_path  # type: ignore[attr-defined]
    client.app.fast_path = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        client.app.fast_path = fast_path  # type: ignore[attr-defined]


# SQLite on a full disk --------------------------------------------------------------------


class TinyDisk:
    """A small filesystem the test can fill up and free again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        with self.filler.open("ab", buffering=0) as out:
            chunk = b"\0" * 65536
            with contextlib.suppress(OSError):
                for _ in range(10 * TMPFS_BYTES // len(chunk)):  # bounded: 10x the disk
                    out.write(chunk)
            # The last few bytes, so not even one page fits.
            with contextlib.suppress(OSError):
                for _ in range(4096):
                    out.write(b"\0" * 16)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs to fill up (needs root and mount): "
                    f"{result.stderr.strip()}; test_a_full_database_* covers it instead")
    try:
        yield TinyDisk(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


def test_a_full_disk_answers_503_everywhere_and_recovers_without_a_restart(
    settings: Settings, tmp_path: Path, tiny_disk: TinyDisk,
) -> None:
    settings = with_docs(settings, tmp_path, var_dir=tiny_disk.path / "var",
                         trusted_proxies=[])
    with app_client(settings) as client:
        client.follow_redirects = False
        kept = post(client, body="Stored before the disk filled up.").json()["id"]
        approve(client.app.state.database, kept)  # type: ignore[attr-defined]
        before = client.get(f"/api/articles/{OPEN}/comments")
        make_staff(client.app.state.database, "mod")  # type: ignore[attr-defined]
        assert client.get("/healthz").status_code == 200

        tiny_disk.fill()

        assert_json_503(post(client, body="Posted on a full disk, fast path."))
        with routed_path(client):
            assert_json_503(post(client, body="Posted on a full disk, routed."))
        page = form_post(client, "Posted without JavaScript on a full disk.")
        assert_html_503(page)
        assert "Posted without JavaScript on a full disk." in page.text  # the text is kept
        assert_html_503(AuthActions(client).sign_in("mod", PASSWORD))
        wait_for(lambda: client.get("/healthz").status_code == 503, "healthz to say 503")
        health = client.get("/healthz")
        assert health.json()["status"] == "error" and "write" in health.json()["detail"]
        # Reads still work on a full disk: the thread is served, fresh.
        assert client.get(f"/api/articles/{OPEN}/comments").content == before.content

        tiny_disk.free()

        assert post(client, body="Posted once the disk has room again.").status_code == 202
        wait_for(lambda: client.get("/healthz").status_code == 200, "healthz to recover")
        assert AuthActions(client).sign_in("mod", PASSWORD).status_code == 303
        assert stored_bodies(client) == ["Stored before the disk filled up.",
                                         "Posted once the disk has room again."]
        with client.app.state.database.read() as session:  # type: ignore[attr-defined]
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def cap_every_pooled_connection(client: TestClient, pragma: str) -> None:
    """Run a per-connection PRAGMA on every connection the app's pool keeps."""
    engine = client.app.state.database.engine  # type: ignore[attr-defined]
    held = [engine.raw_connection() for _ in range(engine.pool.size())]
    for connection in held:
        connection.driver_connection.execute(pragma)
    for connection in held:
        connection.close()


def test_a_full_database_answers_503_and_recovers(settings: Settings, tmp_path: Path) -> None:
    """Without a filesystem to fill: the database's own size cap fails writes as a full
    disk does ("database or disk is full")."""
    with app_client(with_docs(settings, tmp_path)) as client:
        assert post(client, body="Stored before the cap.").status_code == 202
        engine = client.app.state.database.engine  # type: ignore[attr-defined]
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
        cap_every_pooled_connection(client, f"PRAGMA max_page_count = {pages}")
        big = "A long comment, so that it needs pages of its own. " * 90

        assert_json_503(post(client, body=big))
        # (healthz stays 200 here, rightly: its heartbeat rewrites a row in a page that
        # exists, which a page cap allows; a full disk fails it, see the test above.)

        cap_every_pooled_connection(client, "PRAGMA max_page_count = 1073741823")
        assert post(client, body=big).status_code == 202
        assert stored_bodies(client) == ["Stored before the cap.", big.strip()]


# PostgreSQL behind a proxy the test controls ----------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to the PostgreSQL server until closed; reopens on the port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Refuse new connections and cut every open one, as a server that went away."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for pair in self._pairs:
                for sock in pair:
                    with contextlib.suppress(OSError):
                        sock.close()
            self._pairs.clear()

    def _serve(self) -> None:
        assert self._listener is not None
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept(selector, peers)
                        continue
                    peer = peers.get(sock)
                    if peer is None:
                        continue  # closed earlier in this batch, with its other end
                    try:
                        data = sock.recv(65536)
                        if data:
                            peer.sendall(data)
                            continue
                    except OSError:
                        pass
                    for end in (sock, peer):
                        peers.pop(end, None)
                        selector.unregister(end)
                        end.close()
        finally:
            for sock in peers:
                selector.unregister(sock)
            selector.close()
            self._listener.close()

    def _accept(self, selector: selectors.BaseSelector,
                peers: dict[socket.socket, socket.socket]) -> None:
        assert self._listener is not None
        client, _ = self._listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        peers[client], peers[upstream] = upstream, client
        with self._lock:
            self._pairs.append((client, upstream))
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)


@pytest.fixture
def pg_proxy(pg_database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.open()
    try:
        yield proxy, pg_database_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    finally:
        proxy.close()


@pytest.mark.postgres
def test_a_lost_postgresql_connection_answers_503_serves_cached_threads_for_a_while_and_recovers(
    settings: Settings, tmp_path: Path, pg_proxy: tuple[TcpProxy, str],
) -> None:
    proxy, url = pg_proxy
    bound = 3.0
    settings = with_docs(settings, tmp_path, database_url=url, stale_if_error_seconds=bound)
    with app_client(settings) as client:
        client.follow_redirects = False
        kept = post(client, body="Stored before the outage.").json()["id"]
        approve(client.app.state.database, kept)  # type: ignore[attr-defined]
        make_staff(client.app.state.database, "mod")  # type: ignore[attr-defined]
        assert AuthActions(client).sign_in("mod", PASSWORD).status_code == 303
        before = client.get(f"/api/articles/{OPEN}/comments")
        assert before.status_code == 200 and before.json()["count"] == 1

        proxy.close()
        cut_at = time.monotonic()

        # The cached thread is still served, by either path, within the documented bound.
        stale = client.get(f"/api/articles/{OPEN}/comments")
        with routed_path(client):
            stale_routed = client.get(f"/api/articles/{OPEN}/comments")
        assert time.monotonic() - cut_at < bound, "the machine is too slow for this bound"
        assert stale.status_code == stale_routed.status_code == 200
        assert stale.content == stale_routed.content == before.content
        # What was never cached, and every write, is an honest 503.
        assert_json_503(client.get(f"/api/articles/{OTHER}/comments"))
        assert_json_503(client.get(f"/api/counts?article={OTHER}"))
        assert_json_503(post(client, body="Posted during the outage."))
        with routed_path(client):
            assert_json_503(post(client, body="Posted during the outage, routed."))
        page = form_post(client, "Posted without JavaScript during the outage.")
        assert_html_503(page)
        assert "Posted without JavaScript during the outage." in page.text
        token = notifications.make_token(client.app.state.keyring, "unsubscribe",  # type: ignore[attr-defined]
                                         "b" * 64)
        assert_html_503(client.post(f"/mail/unsubscribe?token={token}"))
        queue = client.get("/staff/")  # the signed-in moderator's queue
        assert_html_503(queue)
        assert queue.headers["cache-control"] == "no-store"
        assert client.get("/healthz").status_code == 503

        # Past the bound, the cached thread is no longer vouched for.
        wait_for(lambda: time.monotonic() - cut_at > bound + 0.1, "the bound to pass")
        assert_json_503(client.get(f"/api/articles/{OPEN}/comments"))

        proxy.open()

        wait_for(lambda: client.get(f"/api/articles/{OPEN}/comments").status_code == 200,
                 "reads to recover")
        assert post(client, body="Posted after the outage.").status_code == 202
        assert client.get("/healthz").status_code == 200
        assert client.get("/staff/").status_code == 200  # the same session, still valid
        assert stored_bodies(client) == ["Stored before the outage.",
                                         "Posted after the outage."]


def set_read_only(admin_url: str, database_url: str, read_only: bool) -> None:
    """Make a PostgreSQL database read-only (or writable), as a failover to a standby does:
    the setting applies to new sessions, so every open one is cut."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = '
                      f'{"on" if read_only else "off"}')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


@pytest.mark.postgres
def test_a_read_only_postgresql_database_is_unhealthy_and_refuses_posts_with_503(
    settings: Settings, tmp_path: Path, pg_server: str, pg_database_url: str,
) -> None:
    settings = with_docs(settings, tmp_path, database_url=pg_database_url)
    with app_client(settings) as client:
        kept = post(client, body="Stored while writable.").json()["id"]
        approve(client.app.state.database, kept)  # type: ignore[attr-defined]
        assert client.get("/healthz").status_code == 200

        set_read_only(pg_server, pg_database_url, True)

        # The first request on a cut connection may fail; it must fail as an outage.
        first = post(client, body="Posted as the connections were cut.")
        assert_json_503(first)
        assert_json_503(post(client, body="Posted to a read-only database."))
        wait_for(lambda: client.get("/healthz").status_code == 503, "healthz to say 503")
        assert "write failed" in client.get("/healthz").json()["detail"]
        # Reads work on a read-only database, so threads are served current.
        assert client.get(f"/api/articles/{OPEN}/comments").json()["count"] == 1

        set_read_only(pg_server, pg_database_url, False)

        wait_for(lambda: post(client, body="Posted once writable again.").status_code == 202,
                 "posts to be accepted again")
        wait_for(lambda: client.get("/healthz").status_code == 200, "healthz to recover")
        assert stored_bodies(client) == ["Stored while writable.", "Posted once writable again."]
