"""A down or unwilling mail server loses no mail: retries at most an hour apart for the
retry period, permanent refusals fail at once, and admins see failed mail and retry it
(staff page and `comments-service notify retry-failed`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from browser_support import axe_violations, launched_chromium, require_axe
from conftest import TEST_SECRET, make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from service_support import Server
from sqlalchemy import select
from staff_support import (
    PASSWORD,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    make_staff,
)

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.models import EmailSubscriber, OutboxMail, utcnow
from comments_service.verbs import failed_mail, outbox
from comments_service.web.app import create_app

MODERATOR = "duty.editor@example.org"
MAX_PASSES = 400  # bounds every simulated-time loop below


@dataclass
class Mailbox:
    """What the test SMTP server received; ``answer`` replaces 250 (e.g. a 4xx or 5xx)."""

    received: list[list[str]] = field(default_factory=list)
    answer: str = ""

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.answer:
            return self.answer
        self.received.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mail_server(port: int, answer: str = "") -> Iterator[Mailbox]:
    box = Mailbox(answer=answer)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def port() -> int:
    """The mail server's port; nothing listens on it until a test starts a server there."""
    return free_port()


@pytest.fixture
def app(tmp_path: Path, port: int) -> Iterator[FastAPI]:
    settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                             moderator_emails=[MODERATOR], notify_interval_seconds=0,
                             mail_retry_hours=72)
    app = create_app(settings)
    yield app
    app.state.database.dispose()


def run_at(app: FastAPI, when: datetime | None) -> outbox.SendReport:
    """One pass of the mail worker as if it ran at when (None: now, step by step)."""
    return outbox.run_once(app.state.database, app.state.keyring, app.state.catalog, when)[1]


def the_mail(app: FastAPI) -> OutboxMail:
    with app.state.database.read() as session:
        (mail,) = session.scalars(select(OutboxMail)).all()
        return mail


def fail_for_good(app: FastAPI, start: datetime) -> list[datetime]:
    """Let every try happen against a down server until the mail is marked failed; the
    times of the tries."""
    tries: list[datetime] = []
    run_at(app, start)  # queues the mail
    for _ in range(MAX_PASSES):
        mail = the_mail(app)
        if mail.status != "pending":
            return tries
        tries.append(mail.next_attempt_at)
        run_at(app, mail.next_attempt_at)
    raise AssertionError(f"still pending after {MAX_PASSES} passes")


def test_a_down_server_is_retried_hourly_for_the_retry_period_then_failed(
    app: FastAPI,
) -> None:
    add_comment(app.state.database, urgent=True)
    start = utcnow()

    tries = fail_for_good(app, start)

    mail = the_mail(app)
    assert mail.status == "failed" and mail.last_error.startswith("connect:")
    gaps = [later - earlier for earlier, later in pairwise(tries)]
    assert gaps[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(gaps) == timedelta(hours=1)
    # Tried right up to the end of the 72 hours, and not past it.
    assert timedelta(hours=71) <= tries[-1] - mail.created_at <= timedelta(hours=72)
    assert mail.attempts == len(tries) > 70


def test_mail_still_pending_within_the_period_goes_out_when_the_server_is_back(
    app: FastAPI, port: int,
) -> None:
    add_comment(app.state.database, urgent=True)
    start = utcnow()
    run_at(app, start)
    two_days_later = start + timedelta(hours=48)
    for _ in range(MAX_PASSES):  # a server down for two days
        mail = the_mail(app)
        if mail.next_attempt_at > two_days_later:
            break
        run_at(app, mail.next_attempt_at)
    assert the_mail(app).status == "pending"

    with mail_server(port) as box:
        report = run_at(app, the_mail(app).next_attempt_at)

    assert report.sent == 1 and box.received == [[MODERATOR]]
    assert the_mail(app).status == "sent"


def test_a_permanent_refusal_fails_at_once(app: FastAPI, port: int) -> None:
    add_comment(app.state.database, urgent=True)
    with mail_server(port, answer="550 5.1.1 No such mailbox") as box:
        report = run_at(app, None)
    assert report.failed == 1 and box.received == []
    mail = the_mail(app)
    assert mail.status == "failed" and mail.attempts == 1 and "550" in mail.last_error


def test_a_temporary_refusal_is_retried(app: FastAPI, port: int) -> None:
    add_comment(app.state.database, urgent=True)
    with mail_server(port, answer="451 4.3.0 Try again later") as box:
        assert run_at(app, None).retried == 1
        box.answer = ""
        assert run_at(app, the_mail(app).next_attempt_at).sent == 1
    assert box.received == [[MODERATOR]]


# Seeing and retrying failed mail ---------------------------------------------------------


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def a_failed_mail(app: FastAPI, port: int) -> OutboxMail:
    add_comment(app.state.database, urgent=True)
    with mail_server(port, answer="554 5.7.1 Relay access denied"):
        run_at(app, None)
    mail = the_mail(app)
    assert mail.status == "failed"
    return mail


def test_admins_see_failed_mail_with_the_address_masked(app: FastAPI, client: TestClient,
                                                        port: int) -> None:
    mail = a_failed_mail(app, port)
    make_staff(app.state.database, "lead", role="admin")
    AuthActions(client).sign_in("lead")

    page = client.get("/staff/mail")

    assert page.status_code == 200
    assert 'href="/staff/mail" aria-current="page"' in page.text
    assert MODERATOR not in page.text
    assert "d**********@example.org" in page.text
    for shown in (mail.kind, mail.subject.split(":")[0], "554", "Relay access denied"):
        assert shown in page.text
    assert "<td>1</td>" in page.text  # attempts


def test_moderators_cannot_see_or_retry_failed_mail(app: FastAPI, client: TestClient,
                                                   port: int) -> None:
    a_failed_mail(app, port)
    make_staff(app.state.database, "mod")
    auth = AuthActions(client)
    auth.sign_in("mod")
    assert "/staff/mail" not in client.get("/staff/").text
    assert client.get("/staff/mail").status_code == 403
    assert auth.post("/staff/mail/retry", {"all": "yes"}).status_code == 403
    assert the_mail(app).status == "failed"


def test_retry_puts_the_mail_back_and_it_is_sent(app: FastAPI, client: TestClient,
                                                 port: int) -> None:
    mail = a_failed_mail(app, port)
    make_staff(app.state.database, "lead", role="admin")
    auth = AuthActions(client)
    auth.sign_in("lead")

    forged = client.post("/staff/mail/retry", data={"mail_id": str(mail.id),
                                                    "csrf_token": "forged"})
    assert forged.status_code == 403 and the_mail(app).status == "failed"

    done = auth.post("/staff/mail/retry", {"mail_id": str(mail.id)})
    assert done.status_code == 303
    assert "back in the queue" in client.get(done.headers["location"]).text
    assert the_mail(app).status == "pending"
    with mail_server(port) as box:
        assert run_at(app, None).sent == 1
    assert box.received == [[MODERATOR]]
    assert "No failed mail." in client.get("/staff/mail").text


def test_the_cli_puts_failed_mail_back_in_the_queue(app: FastAPI, port: int, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    a_failed_mail(app, port)
    settings: Settings = app.state.settings
    for name, value in {"COMMENTS_SECRET_KEY": TEST_SECRET,
                        "COMMENTS_VAR_DIR": str(settings.var_dir),
                        "COMMENTS_DOCS_DIR": str(settings.docs_dir),
                        "COMMENTS_SMTP_HOST": "127.0.0.1"}.items():
        monkeypatch.setenv(name, value)

    assert main(["notify", "retry-failed", "--id", "999999"]) == 0
    assert "put 0 failed mail(s)" in capsys.readouterr().out
    assert the_mail(app).status == "failed"

    assert main(["notify", "retry-failed"]) == 0
    assert "put 1 failed mail(s) back in the queue" in capsys.readouterr().out
    mail = the_mail(app)
    assert mail.status == "pending" and mail.next_attempt_at <= utcnow()


def test_retry_never_mails_an_address_that_unsubscribed_since(app: FastAPI,
                                                              port: int) -> None:
    a_failed_mail(app, port)
    keyring = app.state.keyring
    with app.state.database.write() as session:
        session.add(EmailSubscriber(email_hash=keyring.email_hash(MODERATOR),
                                    confirmed=False, unsubscribed=True))
    assert failed_mail.retry_failed(app.state.database, app.state.keyring) == 0
    assert the_mail(app).status == "cancelled"


@pytest.mark.browser
def test_the_failed_mail_page_is_accessible_and_retry_works_in_a_browser(
    app: FastAPI, port: int,
) -> None:
    require_axe()
    a_failed_mail(app, port)
    make_staff(app.state.database, "lead", role="admin")
    server = Server(app.state.settings)  # a real service process on the same database
    try:
        with launched_chromium() as chromium:
            # axe is injected as a script, which the page's policy (rightly) forbids.
            context = chromium.new_context(bypass_csp=True)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto(f"{server.url}/staff/sign-in")
            page.locator("#username").fill("lead")
            page.locator("#password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{server.url}/staff/")
            page.get_by_role("link", name="Failed mail").click()
            page.wait_for_url(f"{server.url}/staff/mail")
            assert axe_violations(page) == []

            page.get_by_role("button", name="Retry mail", exact=False).first.click()
            page.wait_for_load_state()
            assert "back in the queue" in page.get_by_role("status").inner_text()
            assert page.get_by_text("No failed mail.").is_visible()
            context.close()
    finally:
        server.stop()
    assert the_mail(app).status == "pending"
