"""Mail: a real local SMTP server (aiosmtpd) receives each kind of mail; outbox retries."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from staff_support import add_comment, fast_hashing, make_staff  # noqa: F401

from comments_service.articles.catalog import Catalog
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import (
    Comment,
    CommentStatus,
    EmailSubscriber,
    OutboxMail,
    utcnow,
)
from comments_service.verbs import outbox
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation
from comments_service.web.app import create_app

OPERATOR = Actor.operator("test")
MODERATORS = ["mods@example.org", "lead@example.org"]
READER = "reader.one@example.org"


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """What the test SMTP server received; set ``refuse`` to answer 451 (try later)."""

    received: list[Received] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.refuse:
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def app(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> FastAPI:
    settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=mailbox[1],
                             moderator_emails=MODERATORS, notify_interval_seconds=0,
                             mail_from="comments@articles.example.org", digest_minutes=10)
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def box(mailbox: tuple[Mailbox, int]) -> Mailbox:
    return mailbox[0]


def run(app: FastAPI, minutes_later: float = 0) -> outbox.SendReport:
    now = utcnow() + timedelta(minutes=minutes_later) if minutes_later else None
    return outbox.run_once(app.state.database, app.state.keyring, app.state.catalog, now)[1]


def moderation(app: FastAPI) -> Moderation:
    return Moderation(app.state.database, app.state.keyring, app.state.catalog)


def link_in(message: EmailMessage, path: str) -> str:
    match = re.search(rf"http://testserver({re.escape(path)}\S*)", message.get_content())
    assert match, f"no {path} link in {message.get_content()!r}"
    return match.group(1)


def confirm(client: TestClient, message: EmailMessage) -> None:
    url = link_in(message, "/mail/confirm")
    assert client.post(url).status_code == 200


# Moderator mails --------------------------------------------------------------------------


def test_urgent_comment_mails_every_moderator_at_once_without_its_text(
    app: FastAPI, box: Mailbox,
) -> None:
    comment_id = add_comment(app.state.database, body="I want to end my life tonight.",
                             urgent=True, email="private.person@example.org", ip="203.0.113.9")
    assert run(app).sent == 2
    for address in MODERATORS:
        (message,) = box.to(address)
        assert message["Subject"] == f"Urgent: a comment needs moderation (#{comment_id})"
        text = message.as_string()
        for secret in ("end my life", "private.person", "203.0.113.9", "Reader One"):
            assert secret not in text
        assert link_in(message, "/staff/comments/") == f"/staff/comments/{comment_id}"


def test_ordinary_comments_wait_for_a_digest_at_most_every_few_minutes(
    app: FastAPI, box: Mailbox,
) -> None:
    database = app.state.database
    first = [add_comment(database, body=f"Ordinary comment {n}.") for n in range(2)]
    run(app)
    (digest,) = box.to(MODERATORS[0])
    assert digest["Subject"] == "2 new comments are waiting for moderation"
    assert "Ordinary comment" not in digest.as_string()
    for comment_id in first:
        assert f"/staff/comments/{comment_id}" in digest.get_content()

    later = add_comment(database, body="A third one.")
    run(app, minutes_later=1)
    assert len(box.to(MODERATORS[0])) == 1  # still inside the digest window
    run(app, minutes_later=11)
    assert len(box.to(MODERATORS[0])) == 2
    assert f"/staff/comments/{later}" in box.to(MODERATORS[0])[1].get_content()


def test_comment_moderated_before_the_digest_is_not_mailed_about(app: FastAPI,
                                                                box: Mailbox) -> None:
    add_comment(app.state.database, body="First.")
    run(app)
    second = add_comment(app.state.database, body="Second.")
    moderation(app).approve(second, OPERATOR)
    run(app, minutes_later=11)
    assert len(box.to(MODERATORS[0])) == 1


# Commenter mails --------------------------------------------------------------------------


def test_first_opt_in_sends_one_confirmation_and_nothing_more_until_confirmed(
    app: FastAPI, box: Mailbox,
) -> None:
    database = app.state.database
    first = add_comment(database, notify=True)
    second = add_comment(database, notify=True, body="Another comment, same address.")
    run(app)
    (confirmation,) = box.to(READER)
    assert confirmation["Subject"] == "Please confirm you want mail about your comments"
    moderation(app).approve(first, OPERATOR)
    moderation(app).approve(second, OPERATOR)
    run(app)
    assert len(box.to(READER)) == 1


def test_confirmed_commenter_is_told_of_approval_and_replies(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    database = app.state.database
    mine = add_comment(database, notify=True, body="My question about impasses.")
    run(app)
    confirm(client, box.to(READER)[0])
    moderation(app).approve(mine, OPERATOR)
    run(app)
    approved = box.to(READER)[1]
    assert approved["Subject"] == "Your comment on Therapeutic Impasse is published"
    assert f"http://testserver/therapeutic-impasse/#comment-{mine}" in approved.get_content()

    reader_reply = add_comment(database, parent_id=mine, author="Someone Else",
                               email="else@example.org", body="A reader answers.")
    run(app)
    assert len(box.to(READER)) == 2  # a pending reply tells nobody
    moderation(app).approve(reader_reply, OPERATOR)
    run(app)
    assert box.to(READER)[2]["Subject"] == "A reply to your comment on Therapeutic Impasse"
    assert "Someone has replied" in box.to(READER)[2].get_content()

    staff = make_staff(database)
    moderation(app).reply_as_staff(mine, staff.id, "Thank you for asking.")
    run(app)
    assert "Our team has replied" in box.to(READER)[3].get_content()
    assert "else@example.org" not in [r for m in box.received for r in m.recipients
                                      if "reply" in m.message["Subject"]]


def test_commenter_who_did_not_opt_in_gets_no_mail(app: FastAPI, box: Mailbox) -> None:
    mine = add_comment(app.state.database, notify=False)
    run(app)
    moderation(app).approve(mine, OPERATOR)
    run(app)
    assert box.to(READER) == []


def test_every_mail_has_a_one_click_unsubscribe_link(app: FastAPI, box: Mailbox) -> None:
    add_comment(app.state.database, notify=True, urgent=True)
    run(app)
    assert len(box.received) == 3
    for received in box.received:
        message = received.message
        url = link_in(message, "/mail/unsubscribe")
        assert message["List-Unsubscribe"] == f"<http://testserver{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unsubscribe_link_shows_a_button_and_only_a_post_unsubscribes(
    app: FastAPI, client: TestClient, box: Mailbox,
) -> None:
    mine = add_comment(app.state.database, notify=True)
    run(app)
    confirm(client, box.to(READER)[0])
    url = link_in(box.to(READER)[0], "/mail/unsubscribe")
    page = client.get(url)
    assert page.status_code == 200 and "<button" in page.text
    email_hash = app.state.keyring.email_hash(READER)
    with app.state.database.read() as session:
        assert not session.get(EmailSubscriber, email_hash).unsubscribed
    # What a mail client sends for RFC 8058 one-click unsubscribe: no cookie, no sign-in.
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "unsubscribed" in response.text
    moderation(app).approve(mine, OPERATOR)
    run(app)
    assert len(box.to(READER)) == 1


def test_moderator_can_unsubscribe_from_alerts(app: FastAPI, client: TestClient,
                                               box: Mailbox) -> None:
    add_comment(app.state.database, urgent=True)
    run(app)
    client.post(link_in(box.to(MODERATORS[0])[0], "/mail/unsubscribe"))
    add_comment(app.state.database, urgent=True, body="Second urgent.")
    run(app)
    assert len(box.to(MODERATORS[0])) == 1
    assert len(box.to(MODERATORS[1])) == 2


@pytest.mark.parametrize("kind", ["confirm", "unsubscribe"])
def test_forged_tokens_are_refused(app: FastAPI, client: TestClient, kind: str) -> None:
    forged = "a" * 64 + ".0123456789abcdef0123456789abcdef01234567"
    assert client.get(f"/mail/{kind}?token={forged}").status_code == 400
    assert client.post(f"/mail/{kind}?token={forged}").status_code == 400
    with app.state.database.read() as session:
        assert session.scalars(select(EmailSubscriber)).all() == []


def test_confirm_link_get_changes_nothing(app: FastAPI, client: TestClient,
                                          box: Mailbox) -> None:
    add_comment(app.state.database, notify=True)
    run(app)
    assert client.get(link_in(box.to(READER)[0], "/mail/confirm")).status_code == 200
    with app.state.database.read() as session:
        subscriber = session.get(EmailSubscriber, app.state.keyring.email_hash(READER))
    assert not subscriber.confirmed


# Outbox and sender ------------------------------------------------------------------------


def test_refused_send_stays_queued_and_is_retried_later(app: FastAPI, box: Mailbox) -> None:
    add_comment(app.state.database, urgent=True)
    box.refuse = True
    report = run(app)
    assert report.retried == 2 and box.received == []
    with app.state.database.read() as session:
        mails = session.scalars(select(OutboxMail)).all()
    assert {(m.status, m.attempts) for m in mails} == {("pending", 1)}
    assert "451" in mails[0].last_error
    box.refuse = False
    assert run(app).sent == 0  # not due yet: the backoff holds it back
    assert run(app, minutes_later=2).sent == 2
    assert len(box.received) == 2


def test_down_mail_server_loses_nothing(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    down = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(),
                         moderator_emails=MODERATORS[:1])
    database = Database(down)
    upgrade(database)
    keyring = Keyring(down.secret())
    add_comment(database, urgent=True)
    _, report = outbox.run_once(database, keyring, Catalog(down.docs_dir))
    assert report.retried == 1
    # The same database and outbox, now with the mail server back up.
    database.settings = down.model_copy(update={"smtp_port": port})
    _, report = outbox.run_once(database, keyring, Catalog(down.docs_dir),
                                utcnow() + timedelta(minutes=2))
    assert report.sent == 1 and len(box.received) == 1
    database.dispose()


def test_retry_delay_doubles_and_is_capped() -> None:
    assert outbox.retry_delay(1) == timedelta(minutes=1)
    assert outbox.retry_delay(2) == timedelta(minutes=2)
    assert outbox.retry_delay(30) == timedelta(hours=1)


def test_no_header_injection_from_any_field(app: FastAPI, box: Mailbox) -> None:
    with app.state.database.write() as session:
        session.add(OutboxMail(
            kind="test", recipient_encrypted=app.state.keyring.encrypt_email(READER),
            subject="Hello\r\nBcc: victim@example.org", body="Body\r\nBcc: other@example.org",
            unsubscribe_url="", status="pending", next_attempt_at=utcnow()))
        session.add(OutboxMail(
            kind="test",
            recipient_encrypted=app.state.keyring.encrypt_email(
                "x@example.org\r\nBcc: victim@example.org"),
            subject="Hello", body="Body", unsubscribe_url="", status="pending",
            next_attempt_at=utcnow()))
    report = run(app)
    assert report.sent == 1 and report.failed == 1
    (received,) = box.received
    assert received.recipients == [READER]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Hello Bcc: victim@example.org"


def test_nothing_is_queued_or_sent_without_smtp(tmp_path: Path, box: Mailbox) -> None:
    settings = make_settings(tmp_path, moderator_emails=MODERATORS, notify_interval_seconds=0)
    app = create_app(settings)
    comment_id = add_comment(app.state.database, urgent=True, notify=True)
    later = add_comment(app.state.database, body="Another one.")
    assert run(app) == outbox.SendReport()
    moderation(app).approve(comment_id, OPERATOR)
    with app.state.database.read() as session:
        # Marked handled, so mail turned on later does not go out about old comments.
        assert set(session.scalars(select(Comment.notified).where(
            Comment.id.in_([comment_id, later])))) == {True}
        assert session.scalars(select(OutboxMail)).all() == []
        assert session.scalars(select(EmailSubscriber)).all() == []
    assert box.received == []
    app.state.database.dispose()


def test_status_changes_do_not_mail_about_unapproved_replies(app: FastAPI,
                                                             client: TestClient,
                                                             box: Mailbox) -> None:
    parent = add_comment(app.state.database, notify=True, status=CommentStatus.APPROVED)
    run(app)
    confirm(client, box.to(READER)[0])
    reply = add_comment(app.state.database, parent_id=parent, email="else@example.org")
    moderation(app).reject(reply, OPERATOR)
    run(app, minutes_later=11)
    assert len(box.to(READER)) == 1


def test_service_process_runs_the_mail_worker(tmp_path: Path,
                                              mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                             moderator_emails=MODERATORS[:1], notify_interval_seconds=0.2)
    app = create_app(settings)
    add_comment(app.state.database, urgent=True)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while not box.received and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [r.recipients for r in box.received] == [MODERATORS[:1]]


@pytest.mark.postgres
def test_mail_flow_on_postgres(tmp_path: Path, pg_database_url: str,
                               mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    settings = make_settings(tmp_path, database_url=pg_database_url, smtp_host="127.0.0.1",
                             smtp_port=port, moderator_emails=MODERATORS[:1])
    database = Database(settings)
    upgrade(database)
    keyring = Keyring(settings.secret())
    add_comment(database, urgent=True)
    add_comment(database, body="Ordinary.", notify=True)
    handled, report = outbox.run_once(database, keyring)
    assert handled == 2 and report.sent == 3
    assert sorted(m.message["Subject"].split(":")[0] for m in box.received) == [
        "1 new comment is waiting for moderation", "Please confirm you want mail about your "
        "comments", "Urgent"]
    database.dispose()
