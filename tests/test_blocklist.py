"""Blocklists: admins block addresses, domains, networks and phrases; each rule holds,
stores as spam or refuses, through the JSON API and the no-JavaScript form alike."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from service_support import CLIENT_IP, OPEN, post, with_docs
from spam_support import staff_app
from sqlalchemy import select
from staff_support import AuthActions, fast_hashing, get_comment  # noqa: F401 - autouse

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.models import AuditEntry, Block, Comment, CommentStatus
from comments_service.verbs import spam

NEUTRAL = "Sorry, this comment cannot be posted."


def add_rule(auth: AuthActions, kind: str, value: str, action: str,
             note: str = "") -> httpx.Response:
    return auth.post("/staff/blocklist", {"kind": kind, "value": value, "action": action,
                                          "note": note})


def form_post(client: TestClient, **overrides: str) -> httpx.Response:
    token = spam.form_token(client.app.state.keyring.signing_key, OPEN, now=time.time() - 60)
    data = {"article_id": OPEN, "return_to": "http://testserver/open-article/",
            "author": "Noor Reader", "email": "noor@example.org",
            "body": "Thank you, this was useful.", "parent_id": "", "accept_terms": "yes",
            "website": "", "form_token": token, **overrides}
    return client.post("/comments", data=data)


def stored(client: TestClient) -> list[Comment]:
    with client.app.state.database.read() as session:
        return list(session.scalars(select(Comment).order_by(Comment.id)))


StaffPair = tuple[TestClient, AuthActions]


@pytest.fixture
def admin(settings: Settings, tmp_path: Path) -> Iterator[StaffPair]:
    """A signed-in admin on a fresh app."""
    with staff_app(with_docs(settings, tmp_path, rate_limit_count=100),
                   role="admin") as pair:
        yield pair


def test_a_held_address_waits_with_a_note_naming_the_rule(admin: StaffPair) -> None:
    client, auth = admin
    assert add_rule(auth, "email", "Troll.Someone@example.org", "hold",
                    "posts the same rant").status_code == 303
    response = post(client, email="troll.someone@example.org")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    comment = get_comment(client.app.state.database, response.json()["id"])
    assert comment.status == CommentStatus.PENDING
    queue = client.get("/staff/").text
    assert "Blocklist #1 (email t************@example.org): held for a moderator" in queue
    # The address itself is kept only as its keyed hash.
    with client.app.state.database.read() as session:
        rule = session.scalars(select(Block)).one()
    assert "troll" not in rule.value.lower()
    assert post(client, email="someone.else@example.org",
                body="A different reader entirely.").json()["status"] == "pending"
    assert get_comment(client.app.state.database, comment.id + 1).screening_note == ""


def test_a_blocked_domain_is_stored_as_spam_and_the_reader_cannot_tell(admin: StaffPair) -> None:
    client, auth = admin
    add_rule(auth, "domain", "Spam-Farm.example", "spam")
    response = post(client, email="bot@mail.spam-farm.example")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    comment = get_comment(client.app.state.database, response.json()["id"])
    assert comment.status == CommentStatus.SPAM
    assert comment.notified  # no moderator mail for it
    assert f"Comment #{comment.id} by" not in client.get("/staff/").text
    spam_tab = client.get("/staff/?status=spam").text
    assert f"Comment #{comment.id} by" in spam_tab
    assert "(domain spam-farm.example): stored as spam" in spam_tab


def test_a_refused_network_gets_a_neutral_422_on_the_api_and_the_form(admin: StaffPair) -> None:
    client, auth = admin
    network = CLIENT_IP.rsplit(".", 1)[0] + ".0/24"
    add_rule(auth, "network", network, "refuse")
    response = post(client)
    assert response.status_code == 422
    assert response.json()["detail"] == NEUTRAL
    assert "block" not in response.text.lower()
    form = form_post(client)
    assert form.status_code == 422
    assert NEUTRAL in form.text and "blocklist" not in form.text.lower()
    assert "Thank you, this was useful." in form.text  # what they typed is not lost
    assert stored(client) == []
    with client.app.state.database.read() as session:
        rule = session.scalars(select(Block)).one()
    assert rule.label == "an IPv4 /24 network"
    assert CLIENT_IP.rsplit(".", 1)[0] not in rule.value


def test_a_single_address_block_leaves_its_neighbours_alone(admin: StaffPair) -> None:
    client, auth = admin
    neighbour = CLIENT_IP.rsplit(".", 1)[0] + ".8"
    add_rule(auth, "network", neighbour, "refuse")
    assert post(client).status_code == 202


def test_a_phrase_holds_posts_from_the_no_javascript_form(admin: StaffPair) -> None:
    client, auth = admin
    add_rule(auth, "phrase", "Miracle  Cure", "hold")
    response = form_post(client, body="Try this MIRACLE cure, it worked for my cousin.")
    assert response.status_code == 303
    [comment] = stored(client)
    assert comment.status == CommentStatus.PENDING
    assert comment.screening_note == "Blocklist #1 (phrase 'miracle cure'): held for a moderator"
    # Whole words only: "miraculous" is not "miracle".
    form_post(client, body="It felt miraculous to be heard. A cure for loneliness.",
              email="other@example.org")
    assert stored(client)[1].screening_note == ""


def test_the_strongest_matching_rule_wins(admin: StaffPair) -> None:
    client, auth = admin
    add_rule(auth, "phrase", "casino", "hold")
    add_rule(auth, "domain", "example.org", "refuse")
    assert post(client, body="Free casino spins!").status_code == 422


def test_removing_a_rule_lets_posts_through_and_both_are_audited(admin: StaffPair) -> None:
    client, auth = admin
    add_rule(auth, "domain", "example.org", "refuse")
    assert post(client).status_code == 422
    assert auth.post("/staff/blocklist/1/remove").status_code == 303
    assert post(client).status_code == 202
    with client.app.state.database.read() as session:
        actions = [(e.action, e.actor) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("block_%")).order_by(AuditEntry.id))]
    assert actions == [("block_add", "mod"), ("block_remove", "mod")]
    assert "No rules yet." in client.get("/staff/blocklist").text


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("network", "300.1.2.0/24", "Value is not an IP address or network"),
    ("email", "not-an-address", "Value is not an email address"),
    ("domain", "no spaces.example", "Value is not a domain name"),
    ("phrase", "   ", "Value must not be empty"),
])
def test_bad_rules_are_refused_naming_the_field(admin: StaffPair, kind: str, value: str,
                                                 message: str) -> None:
    _, auth = admin
    response = add_rule(auth, kind, value, "hold")
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert "No rules yet." in response.text


def test_a_repeated_rule_is_refused(admin: StaffPair) -> None:
    _, auth = admin
    add_rule(auth, "domain", "example.net", "hold")
    response = add_rule(auth, "domain", "EXAMPLE.net", "spam")
    assert response.status_code == 422 and "already blocked" in response.text


def test_moderators_cannot_see_or_change_the_blocklist(settings: Settings,
                                                       tmp_path: Path) -> None:
    with staff_app(with_docs(settings, tmp_path)) as (client, auth):
        assert client.get("/staff/blocklist").status_code == 403
        assert add_rule(auth, "domain", "example.net", "hold").status_code == 403
        assert 'href="/staff/blocklist"' not in client.get("/staff/").text


def test_the_block_command_adds_lists_and_removes_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    settings: Settings,
) -> None:
    monkeypatch.setenv("COMMENTS_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("pest@example.org\n"))
    assert main(["block", "add", "email", "-", "--action", "spam"]) == 0
    assert main(["block", "add", "phrase", "cheap pills", "--note", "pharma spam"]) == 0
    assert main(["block", "add", "network", "2001:db8::/64", "--action", "refuse"]) == 0
    assert main(["block", "add", "network", "nonsense"]) == 2
    assert main(["block", "list"]) == 0
    out = capsys.readouterr()
    assert "block: value: is not an IP address or network" in out.err
    assert "p***@example.org\tspam" in out.out
    assert "'cheap pills'\thold  (pharma spam)" in out.out
    assert "an IPv6 /64 network\trefuse" in out.out
    assert main(["block", "remove", "2"]) == 0
    assert main(["block", "remove", "2"]) == 1
    capsys.readouterr()
    assert main(["block", "list"]) == 0
    listed = capsys.readouterr().out
    assert "cheap pills" not in listed and "p***@example.org" in listed
