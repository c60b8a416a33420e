"""The background re-baker: moderation changes reach the static page within seconds."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_bake import add_comment, page_html, section

from comments_service.config import Settings
from comments_service.site.rebake import Baker
from comments_service.store.database import Database
from comments_service.store.models import BakeRequest, CommentStatus
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app

OPERATOR = Actor.operator("test")


def make_site(site_dir: Path) -> Path:
    page = site_dir / "impasse" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(page_html("impasse"))
    return page


def moderation(database: Database, settings: Settings) -> Moderation:
    return Moderation(database, Keyring(settings.secret()))


def queued(database: Database) -> list[str]:
    with database.read() as session:
        return [r.article_id for r in session.query(BakeRequest).all()]


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def publish_log_command(log: Path) -> str:
    script = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + ' ' + sys.argv[3] + '\\n')"
    return f'{sys.executable} -c "{script}" {log} {{path}} {{site_dir}}'


def test_approval_rebakes_the_page_and_runs_the_publish_command(database, settings, tmp_path):
    page = make_site(settings.site_dir)
    log = tmp_path / "published.txt"
    settings = settings.model_copy(update={
        "bake_debounce_seconds": 0.0, "publish_command": publish_log_command(log),
    })
    comment_id = add_comment(database, "impasse", "Waiting for approval",
                             status=CommentStatus.PENDING)
    baker = Baker(settings, database)

    moderation(database, settings).approve(comment_id, OPERATOR)
    done = baker.run_once()

    assert [p.article_id for p in done] == ["impasse"]
    assert done[0].published
    assert "Waiting for approval" in section(page, "impasse").get_text()
    # The page, then the static thread data the page's script reads first.
    data = settings.site_dir / "comments-data"
    assert log.read_text().splitlines() == [
        f"{page} {settings.site_dir}",
        f"{data / 'impasse.json'} {settings.site_dir}",
        f"{data / 'counts.json'} {settings.site_dir}",
    ]
    assert queued(database) == []


def test_rejection_removes_the_comment_from_the_page(database, settings):
    page = make_site(settings.site_dir)
    settings = settings.model_copy(update={"bake_debounce_seconds": 0.0})
    comment_id = add_comment(database, "impasse", "Soon to go")
    baker = Baker(settings, database)
    baker.bake_all()
    assert "Soon to go" in section(page, "impasse").get_text()

    moderation(database, settings).reject(comment_id, OPERATOR)
    baker.run_once()

    assert "Soon to go" not in section(page, "impasse").get_text()


def test_changes_wait_for_the_debounce(database, settings):
    make_site(settings.site_dir)
    settings = settings.model_copy(update={"bake_debounce_seconds": 0.5})
    first = add_comment(database, "impasse", "One", status=CommentStatus.PENDING)
    second = add_comment(database, "impasse", "Two", status=CommentStatus.PENDING, minutes=1)
    baker = Baker(settings, database)
    mod = moderation(database, settings)

    mod.approve(first, OPERATOR)
    mod.approve(second, OPERATOR)
    assert baker.run_once() == []  # still inside the quiet period
    time.sleep(0.6)
    done = baker.run_once()

    # Two approvals in a burst: one bake.
    assert [p.article_id for p in done] == ["impasse"]
    assert baker.run_once() == []


def test_one_request_is_claimed_by_one_process(database, settings):
    make_site(settings.site_dir)
    settings = settings.model_copy(update={"bake_debounce_seconds": 0.0})
    comment_id = add_comment(database, "impasse", "Once", status=CommentStatus.PENDING)
    moderation(database, settings).approve(comment_id, OPERATOR)
    one, two = Baker(settings, database), Baker(settings, database)

    assert one.claim_due() == ["impasse"]
    assert two.claim_due() == []


def test_unchanged_page_is_not_published(database, settings, tmp_path):
    make_site(settings.site_dir)
    log = tmp_path / "published.txt"
    settings = settings.model_copy(update={
        "bake_debounce_seconds": 0.0, "publish_command": publish_log_command(log),
    })
    comment_id = add_comment(database, "impasse", "Approved already")
    baker = Baker(settings, database)
    baker.bake_all()

    # Approving an approved comment changes nothing on the page.
    moderation(database, settings).approve(comment_id, OPERATOR)
    done = baker.run_once()

    assert not log.exists()
    assert all(not p.report.pages_changed for p in done)


def test_failed_publish_command_is_reported(database, settings):
    make_site(settings.site_dir)
    settings = settings.model_copy(update={
        "bake_debounce_seconds": 0.0, "publish_command": "exit 3",
    })
    comment_id = add_comment(database, "impasse", "Approve me", status=CommentStatus.PENDING)
    moderation(database, settings).approve(comment_id, OPERATOR)

    done = Baker(settings, database).run_once()

    assert not done[0].published
    assert "exited with 3" in done[0].error


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_publish_webhook_gets_the_changed_pages(database, settings):
    make_site(settings.site_dir)
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    try:
        settings = settings.model_copy(update={
            "bake_debounce_seconds": 0.0,
            "publish_webhook": f"http://127.0.0.1:{server.server_port}/hook",
        })
        comment_id = add_comment(database, "impasse", "Hook me", status=CommentStatus.PENDING)
        moderation(database, settings).approve(comment_id, OPERATOR)

        done = Baker(settings, database).run_once()
    finally:
        server.shutdown()
        server.server_close()

    assert done[0].published
    assert _Hook.received == [{
        "article_id": "impasse", "site_dir": str(settings.site_dir),
        "pages": ["impasse/index.html", "comments-data/impasse.json",
                  "comments-data/counts.json"],
    }]


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_running_service_rebakes_within_seconds(tmp_path, action):
    from conftest import make_settings

    log = tmp_path / "published.txt"
    settings = make_settings(tmp_path, bake_debounce_seconds=0.2,
                             publish_command=publish_log_command(log))
    page = make_site(settings.site_dir)
    app = create_app(settings)
    database = app.state.database
    status = CommentStatus.PENDING if action == "approve" else CommentStatus.APPROVED
    comment_id = add_comment(database, "impasse", "Moderated while serving", status=status)

    with TestClient(app):
        # Development mode bakes the served site at start-up.
        assert wait_for(lambda: b"cs-count" in page.read_bytes())
        started = time.monotonic()
        getattr(moderation(database, settings), action)(comment_id, OPERATOR)

        def shows() -> bool:
            return "Moderated while serving" in section(page, "impasse").get_text()

        assert wait_for(shows if action == "approve" else lambda: not shows())
        assert time.monotonic() - started < 5
        assert wait_for(log.exists)
