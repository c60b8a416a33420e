"""Webhooks: events POSTed to the operator's endpoints, signed, through the outbox's retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_support import OPEN, app_client, post, with_docs
from sqlalchemy import select

from comments_service.config import Settings
from comments_service.store.models import OutboxMail, utcnow
from comments_service.verbs import failed_mail, outbox, webhook_config
from comments_service.verbs.audit import Actor
from comments_service.verbs.moderation import Moderation
from comments_service.web.app import create_app

SECRET = "a-receiver-shared-secret-0123456789"
BODY = "This helped me understand what was going on in my sessions."
EMAIL = "ada.reader@example.org"


class Receiver:
    """A local HTTP endpoint on 127.0.0.1 that records every request it gets.

    ``answers`` is a list of status codes to give, in order (then 200 for ever).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": self.rfile.read(length)})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def endpoints(receiver: Receiver, **only: list[str]) -> str:
    listed = [
        {"name": "ops", "url": f"{receiver.url}/json", "format": "json", "secret": SECRET},
        {"name": "team-slack", "url": f"{receiver.url}/slack", "format": "slack"},
        {"name": "team-matrix", "url": f"{receiver.url}/matrix", "format": "matrix"},
    ]
    for item in listed:
        if item["name"] in only:
            item["events"] = only[item["name"]]
    return json.dumps(listed)


@pytest.fixture
def client(settings: Settings, tmp_path: Path, receiver: Receiver) -> Iterator[TestClient]:
    with app_client(with_docs(settings, tmp_path, webhooks=endpoints(receiver),
                              notify_interval_seconds=0)) as test_client:
        yield test_client


def deliver(client: TestClient, later_minutes: float = 0) -> outbox.SendReport:
    state = client.app.state
    now = utcnow() + timedelta(minutes=later_minutes)
    return outbox.run_once(state.database, state.keyring, state.catalog, now=now)[1]


def verify_like_a_receiver(request: dict[str, Any]) -> bool:
    timestamp = request["headers"]["X-Comments-Timestamp"]
    expected = "v1=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + request["body"],
                                hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, request["headers"]["X-Comments-Signature"])


def test_a_pending_comment_reaches_every_endpoint_in_its_format_signed(
    client: TestClient, receiver: Receiver,
) -> None:
    comment_id = post(client).json()["id"]
    report = deliver(client)
    assert report.sent == 3

    [generic] = receiver.to("/json")
    assert generic["headers"]["X-Comments-Event"] == "comment.pending"
    assert verify_like_a_receiver(generic)
    payload = json.loads(generic["body"])
    staff_url = f"http://testserver/staff/comments/{comment_id}"
    assert payload["event"] == "comment.pending"
    assert payload["comment"] == {"id": comment_id, "status": "pending", "urgent": False,
                                  "staff_url": staff_url, "url": None}
    assert payload["article"]["id"] == OPEN and payload["article"]["title"] == "Open Article"

    [slack] = receiver.to("/slack")
    assert json.loads(slack["body"]) == {"text": (
        "A comment on \u201cOpen Article\u201d is waiting for moderation: "
        f"<{staff_url}|open comment #{comment_id} in the queue>")}
    [matrix] = receiver.to("/matrix")
    assert json.loads(matrix["body"]) == {"text": (
        f"A comment on \u201cOpen Article\u201d is waiting for moderation: {staff_url}"),
        "format": "plain"}
    # Ids and links only: never the text, the name or the address.
    for request in receiver.requests:
        for secret_thing in (BODY, EMAIL, "Ada Reader"):
            assert secret_thing.encode() not in request["body"]

    # Each event is delivered once: the next pass finds nothing new.
    assert deliver(client).sent == 0
    assert len(receiver.requests) == 3


def test_a_tampered_body_fails_verification(client: TestClient, receiver: Receiver) -> None:
    post(client)
    deliver(client)
    [generic] = receiver.to("/json")
    tampered = dict(generic, body=generic["body"].replace(b"pending", b"approved"))
    assert verify_like_a_receiver(generic) and not verify_like_a_receiver(tampered)


def test_urgent_and_approved_comments_send_their_own_events(
    client: TestClient, receiver: Receiver,
) -> None:
    urgent_id = post(client, body="Some days I want to die and I do not know why.").json()["id"]
    plain_id = post(client, body="A calm comment about the article.").json()["id"]
    deliver(client)
    events = {json.loads(r["body"])["comment"]["id"]: r["headers"]["X-Comments-Event"]
              for r in receiver.to("/json")}
    assert events == {urgent_id: "comment.urgent", plain_id: "comment.pending"}
    [urgent_slack] = [r for r in receiver.to("/slack") if f"#{urgent_id} " in r["body"].decode()]
    assert json.loads(urgent_slack["body"])["text"].startswith("Urgent: a comment on")

    state = client.app.state
    Moderation(state.database, state.keyring, state.catalog).approve(
        plain_id, Actor.operator("test"))
    receiver.requests.clear()
    deliver(client)
    [approved] = receiver.to("/json")
    payload = json.loads(approved["body"])
    assert payload["event"] == "comment.approved"
    assert payload["comment"]["url"] == f"http://testserver/open-article/#comment-{plain_id}"


def test_an_endpoint_hears_only_the_events_it_asked_for(
    settings: Settings, tmp_path: Path, receiver: Receiver,
) -> None:
    hooks = endpoints(receiver, **{"team-slack": ["comment.urgent"]})
    with app_client(with_docs(settings, tmp_path, webhooks=hooks,
                              notify_interval_seconds=0)) as client:
        post(client)
        deliver(client)
    assert receiver.to("/slack") == [] and len(receiver.to("/json")) == 1


def test_a_down_endpoint_is_retried_like_mail_and_a_refusal_fails_at_once(
    client: TestClient, receiver: Receiver,
) -> None:
    receiver.answers = [503, 503, 410]  # json, slack, matrix (queued in that order)
    post(client)
    report = deliver(client)
    assert (report.sent, report.retried, report.failed) == (0, 2, 1)
    database = client.app.state.database
    with database.read() as session:
        rows = {row.endpoint: row for row in session.scalars(
            select(OutboxMail).where(OutboxMail.channel == "webhook"))}
    assert rows["ops"].status == "pending" and rows["ops"].last_error == "HTTP 503"
    assert rows["team-matrix"].status == "failed" and rows["team-matrix"].last_error == "HTTP 410"

    # Not before its retry time (a minute after the first try), then delivered.
    assert deliver(client, later_minutes=0.5).sent == 0
    assert deliver(client, later_minutes=2).sent == 2
    assert len(receiver.to("/json")) == 2 and verify_like_a_receiver(receiver.to("/json")[-1])


def test_an_unreachable_endpoint_gives_up_after_the_mail_retry_period(
    settings: Settings, tmp_path: Path,
) -> None:
    closed_port = Receiver()
    url = closed_port.url
    closed_port.close()  # nothing listens there any more
    hooks = json.dumps([{"name": "gone", "url": f"{url}/x", "format": "slack"}])
    with app_client(with_docs(settings, tmp_path, webhooks=hooks, mail_retry_hours=1,
                              notify_interval_seconds=0)) as client:
        post(client)
        first = deliver(client)
        assert first.retried == 1
        last = deliver(client, later_minutes=90)
        assert last.failed == 1
        with client.app.state.database.read() as session:
            row = session.scalars(select(OutboxMail)).one()
        assert row.status == "failed" and row.last_error.startswith("connect:")


def test_mail_and_webhooks_share_the_outbox_without_mixing(
    settings: Settings, tmp_path: Path, receiver: Receiver,
) -> None:
    # SMTP points at a closed port: mails wait for their retry, webhooks go out meanwhile.
    with app_client(with_docs(settings, tmp_path, webhooks=endpoints(receiver),
                              smtp_host="127.0.0.1", smtp_port=1,
                              moderator_emails=["moderators@example.org"],
                              notify_interval_seconds=0)) as client:
        post(client, body="Some days I want to die and I do not know why.")
        report = deliver(client)
        assert report.sent == 3
        # The mail is tried on the next pass, and waits for its retry: nothing is mixed up.
        assert deliver(client, later_minutes=1).retried == 1
        with client.app.state.database.read() as session:
            kinds = {(row.channel, row.kind) for row in session.scalars(select(OutboxMail))}
            mail = session.scalars(select(OutboxMail).where(OutboxMail.channel == "mail")).one()
    assert ("mail", "moderator_urgent") in kinds
    assert ("webhook", "webhook:comment.urgent") in kinds
    assert mail.status == "pending" and mail.last_error.startswith("connect:")


@pytest.mark.parametrize(("value", "problem"), [
    ('[{"name": "ops", "url": "ftp://x", "format": "json", "secret": "' + SECRET + '"}]',
     "webhooks[0].url: must be an http or https URL"),
    ('[{"name": "ops", "url": "https://hooks.example.org/", "format": "teams"}]',
     "webhooks[0].format: must be one of slack, matrix, json"),
    ('[{"name": "ops", "url": "https://hooks.example.org/", "format": "json"}]',
     "webhooks[0].secret: required for the json format"),
    ('[{"name": "a", "url": "https://h.example.org/", "format": "slack"},'
     ' {"name": "a", "url": "https://h.example.org/", "format": "slack", "events": ["x"]}]',
     "webhooks[1].name: 'a' is used by another endpoint"),
    ('{"url": 1}', "webhooks: must be a list of endpoints"),
    ("[{oops", "webhooks: not valid YAML or JSON"),
])
def test_a_bad_configuration_stops_the_app_naming_the_field(
    settings: Settings, value: str, problem: str,
) -> None:
    with pytest.raises(webhook_config.WebhookConfigError) as caught:
        create_app(settings.model_copy(update={"webhooks": value}))
    assert problem in str(caught.value)


def test_endpoints_can_come_from_a_yaml_file(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text(
        "- name: team-matrix\n"
        "  url: https://matrix.example.org/webhook/abc\n"
        "  format: matrix\n"
        "  events: [comment.urgent, comment.reported]\n", encoding="utf-8")
    [endpoint] = webhook_config.endpoints_for(settings.model_copy(update={"webhooks": str(path)}))
    assert endpoint.name == "team-matrix" and endpoint.events == (
        "comment.urgent", "comment.reported")
    missing = settings.model_copy(update={"webhooks": str(tmp_path / "nope.yaml")})
    with pytest.raises(webhook_config.WebhookConfigError, match="webhooks: cannot read"):
        webhook_config.endpoints_for(missing)


def test_comments_from_before_webhooks_were_configured_send_nothing(
    settings: Settings, tmp_path: Path, receiver: Receiver,
) -> None:
    # A comment handled while no endpoint was configured is not news once one is.
    with app_client(with_docs(settings, tmp_path, notify_interval_seconds=0)) as client:
        post(client)
        deliver(client)
    with app_client(with_docs(settings, tmp_path, webhooks=endpoints(receiver),
                              notify_interval_seconds=0)) as client:
        assert deliver(client).sent == 0
        post(client, body="A second, later comment.")
        assert deliver(client).sent == 3
    assert len(receiver.requests) == 3


def test_failed_deliveries_show_on_the_failed_mail_list_by_endpoint(
    client: TestClient, receiver: Receiver,
) -> None:
    receiver.answers = [404]
    post(client)
    deliver(client)
    state = client.app.state
    [failed] = failed_mail.list_failed(state.database, state.keyring)
    assert failed.recipient == "webhook ops" and failed.last_error == "HTTP 404"
    assert failed_mail.retry_failed(state.database, state.keyring) == 1
    assert deliver(client).sent == 1


def test_deliveries_on_sqlite_and_postgresql(backend_settings: Settings, tmp_path: Path,
                                             receiver: Receiver) -> None:
    settings = with_docs(backend_settings, tmp_path, webhooks=endpoints(receiver),
                         notify_interval_seconds=0)
    with app_client(settings) as client:
        comment_id = post(client).json()["id"]
        assert deliver(client).sent == 3
        state = client.app.state
        Moderation(state.database, state.keyring, state.catalog).approve(
            comment_id, Actor.operator("test"))
        assert deliver(client).sent == 3
    assert [r["headers"]["X-Comments-Event"] for r in receiver.to("/json")] == [
        "comment.pending", "comment.approved"]


def test_the_cli_refuses_to_migrate_or_serve_with_a_bad_endpoint(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from service_support import service_env

    from comments_service.cli import main

    bad = '[{"name": "ops", "url": "https://hooks.example.org/", "format": "json"}]'
    for name, value in service_env(settings, COMMENTS_WEBHOOKS=bad).items():
        if name.startswith("COMMENTS_"):
            monkeypatch.setenv(name, value)
    assert main(["migrate"]) == 2
    assert "webhooks[0].secret: required for the json format" in capsys.readouterr().err


def test_a_webhooks_file_broken_after_start_never_fails_a_reader(
    settings: Settings, tmp_path: Path, receiver: Receiver,
) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text(f"- name: team\n  url: {receiver.url}/slack\n  format: slack\n",
                    encoding="utf-8")
    with app_client(with_docs(settings, tmp_path, webhooks=str(path),
                              notify_interval_seconds=0)) as client:
        path.write_text("- name: [oops\n", encoding="utf-8")
        assert post(client).status_code == 202
        assert deliver(client).sent == 0  # logged, and nothing queued
    assert receiver.requests == []
