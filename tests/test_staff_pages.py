"""Staff pages over real HTTP: sign-in, CSRF, the queue, actions, replies, templates, privacy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from staff_support import (
    ARTICLE,
    OTHER_ARTICLE,
    PASSWORD,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.store.models import AuditEntry, CommentStatus, StaffSession
from comments_service.verbs import accounts
from comments_service.web.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path, notify_interval_seconds=0))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(app: FastAPI, client: TestClient) -> AuthActions:
    """A moderator account 'mod' and an admin 'boss', with helpers to sign in as either."""
    make_staff(app.state.database, "mod")
    make_staff(app.state.database, "boss", role="admin", display_name="Alex Editor",
               signature="Alex, editor")
    return AuthActions(client)


def audit_actions(app: FastAPI, comment_id: int) -> list[str]:
    with app.state.database.read() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.comment_id == comment_id).order_by(AuditEntry.id)))


def public_thread(client: TestClient, article_id: str = ARTICLE) -> list[dict[str, object]]:
    response = client.get(f"/api/articles/{article_id}/comments")
    assert response.status_code == 200
    return response.json()["comments"]


# Signing in -------------------------------------------------------------------------------


def test_queue_sends_signed_out_visitors_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/sign-in?next=")


def test_sign_in_sets_a_httponly_samesite_lax_cookie(staff: AuthActions) -> None:
    response = staff.sign_in()
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("staff_session="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/staff" in lowered
    assert "secure" not in lowered
    assert staff.client.get("/staff/").status_code == 200


def test_session_cookie_is_secure_when_the_site_is_https(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, site_url="https://articles.example.org/",
                                   notify_interval_seconds=0))
    make_staff(app.state.database)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = AuthActions(client).sign_in()
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("staff_session="))
    assert "secure" in cookie.lower()


def test_wrong_password_shows_a_generic_error_and_no_session(staff: AuthActions) -> None:
    response = staff.sign_in(password="not the password")
    assert response.status_code == 401
    assert accounts.SIGN_IN_ERROR in response.text
    assert "staff_session" not in response.cookies
    assert staff.client.get("/staff/").status_code == 303


def test_repeated_failures_lock_sign_in_with_the_same_generic_error(
    app: FastAPI, staff: AuthActions,
) -> None:
    for _ in range(app.state.settings.login_max_failures):
        assert staff.sign_in(password="not the password").status_code == 401
    response = staff.sign_in()
    assert response.status_code == 401
    assert accounts.SIGN_IN_ERROR in response.text
    assert staff.client.get("/staff/").status_code == 303


def test_sign_in_form_without_its_token_is_refused(staff: AuthActions) -> None:
    response = staff.client.post("/staff/sign-in", data={"username": "mod", "password": PASSWORD})
    assert response.status_code == 403
    assert "staff_session" not in response.cookies


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(staff: AuthActions) -> None:
    page = staff.client.get("/staff/sign-in?next=https://evil.example/")
    assert 'name="next" value="/staff/"' in page.text
    page = staff.client.get("/staff/sign-in?next=/staff/audit")
    assert 'name="next" value="/staff/audit"' in page.text


def test_sign_out_ends_the_session(app: FastAPI, staff: AuthActions) -> None:
    staff.sign_in()
    assert staff.sign_out().status_code == 303
    assert staff.client.get("/staff/").status_code == 303
    with app.state.database.read() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_disabled_staff_are_locked_out_at_once(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database)
    staff.sign_in()
    accounts.set_disabled(app.state.database, "mod")
    assert staff.client.get("/staff/").status_code == 303
    response = staff.post("/staff/actions", {"action": f"approve:{comment_id}"})
    assert response.status_code == 403
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert staff.sign_in().status_code == 401


# CSRF and GET -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_action_without_a_valid_csrf_token_changes_nothing(app: FastAPI, staff: AuthActions,
                                                          token: str | None) -> None:
    comment_id = add_comment(app.state.database)
    staff.sign_in()
    data = {"action": f"approve:{comment_id}"}
    if token is not None:
        data["csrf_token"] = token
    response = staff.client.post("/staff/actions", data=data)
    assert response.status_code == 403
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert audit_actions(app, comment_id) == []


def test_another_sessions_csrf_token_is_refused(app: FastAPI, staff: AuthActions,
                                                client: TestClient) -> None:
    comment_id = add_comment(app.state.database)
    other = accounts.sign_in(app.state.database, app.state.keyring, "boss", PASSWORD, "192.0.2.5")
    staff.sign_in()
    response = staff.client.post("/staff/actions", data={
        "action": f"approve:{comment_id}", "csrf_token": other.csrf_token})
    assert response.status_code == 403
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING


@pytest.mark.parametrize("path", ["/staff/comments/{id}/edit", "/staff/comments/{id}/reply"])
def test_edit_and_reply_without_csrf_change_nothing(app: FastAPI, staff: AuthActions,
                                                    path: str) -> None:
    comment_id = add_comment(app.state.database)
    staff.sign_in()
    response = staff.client.post(path.format(id=comment_id), data={"body": "Changed"})
    assert response.status_code == 403
    comment = get_comment(app.state.database, comment_id)
    assert comment.status == CommentStatus.PENDING and comment.body != "Changed"
    assert public_thread(staff.client) == []


def test_get_requests_never_change_a_comment(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database)
    staff.sign_in()
    for path in (f"/staff/actions?action=approve:{comment_id}&csrf_token={staff.csrf}",
                 f"/staff/comments/{comment_id}/reply?body=hi",
                 f"/staff/comments/{comment_id}?action=approve"):
        staff.client.get(path)
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert audit_actions(app, comment_id) == []


def test_post_while_signed_out_is_refused(app: FastAPI, client: TestClient) -> None:
    comment_id = add_comment(app.state.database)
    response = client.post("/staff/actions", data={"action": f"approve:{comment_id}",
                                                   "csrf_token": "x"})
    assert response.status_code == 403
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING


# The queue --------------------------------------------------------------------------------


def test_queue_lists_urgent_first_then_oldest_with_a_visible_marker(
    app: FastAPI, staff: AuthActions,
) -> None:
    database = app.state.database
    first = add_comment(database, body="Oldest ordinary comment.", author="Ada")
    second = add_comment(database, body="Newer ordinary comment.", author="Ben")
    urgent = add_comment(database, body="I cannot go on like this.", author="Cy", urgent=True)
    staff.sign_in()
    soup = BeautifulSoup(staff.client.get("/staff/").text, "html.parser")
    headings = [h.get_text(" ", strip=True) for h in soup.select("ol.queue h3")]
    assert headings == [f"Urgent Comment #{urgent} by Cy", f"Comment #{first} by Ada",
                        f"Comment #{second} by Ben"]
    assert soup.select_one("ol.queue .urgent").get_text() == "Urgent"


def test_queue_shows_email_article_link_and_the_parent_of_a_reply(
    app: FastAPI, staff: AuthActions,
) -> None:
    database = app.state.database
    parent = add_comment(database, body="The parent comment text.",
                         status=CommentStatus.APPROVED)
    add_comment(database, body="A reply to it.", author="Dee", email="dee@example.org",
                parent_id=parent)
    staff.sign_in()
    page = staff.client.get("/staff/").text
    soup = BeautifulSoup(page, "html.parser")
    item = soup.select_one("ol.queue article")
    text = item.get_text(" ", strip=True)
    assert "dee@example.org" in text
    assert "The parent comment text." in item.select_one(".parent").get_text()
    link = item.select_one(".row-facts a")
    assert link.get_text() == "Therapeutic Impasse"
    assert link["href"] == "http://testserver/therapeutic-impasse/"


def test_comment_text_is_shown_escaped(app: FastAPI, staff: AuthActions) -> None:
    add_comment(app.state.database, body="<script>alert(1)</script> and <b>bold</b>",
                author="<img src=x onerror=alert(1)>")
    staff.sign_in()
    page = staff.client.get("/staff/").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "approved"}, ["Approved one."]),
    ({"status": "all", "article": OTHER_ARTICLE}, ["Other article."]),
    ({"status": "all", "q": "needle"}, ["Has a needle inside."]),
    ({"status": "all", "q": "Zed Zebra"}, ["Written by Zed."]),
    ({"status": "all", "q": "ZED@example.org"}, ["Written by Zed."]),
])
def test_queue_filters_by_status_article_text_name_and_email(
    app: FastAPI, staff: AuthActions, params: dict[str, str], expected: list[str],
) -> None:
    database = app.state.database
    add_comment(database, body="Approved one.", status=CommentStatus.APPROVED)
    add_comment(database, body="Other article.", article_id=OTHER_ARTICLE)
    add_comment(database, body="Has a needle inside.")
    add_comment(database, body="Written by Zed.", author="Zed Zebra", email="zed@example.org")
    staff.sign_in()
    soup = BeautifulSoup(staff.client.get("/staff/", params=params).text, "html.parser")
    assert [b.get_text(strip=True) for b in soup.select("ol.queue .body")] == expected


def test_unknown_status_filter_says_which_field_is_wrong(staff: AuthActions) -> None:
    staff.sign_in()
    page = staff.client.get("/staff/", params={"status": "bogus"})
    assert page.status_code == 200
    assert "status: must be" in page.text


# Actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status"), [
    ("approve", CommentStatus.APPROVED), ("reject", CommentStatus.REJECTED),
    ("spam", CommentStatus.SPAM), ("delete", CommentStatus.DELETED),
])
def test_each_action_changes_status_and_leaves_an_audit_entry(
    app: FastAPI, staff: AuthActions, action: str, status: CommentStatus,
) -> None:
    comment_id = add_comment(app.state.database, body="Something to moderate.")
    staff.sign_in()
    response = staff.post("/staff/actions", {"action": f"{action}:{comment_id}",
                                             "back": "/staff/"})
    assert response.status_code == 303
    assert get_comment(app.state.database, comment_id).status == status
    assert audit_actions(app, comment_id) == [action]
    shown = [c["body_html"] for c in public_thread(staff.client)]
    assert shown == (["<p>Something to moderate.</p>"] if action == "approve" else [])
    notice = staff.client.get(response.headers["location"]).text
    assert "1 comment" in notice and "comment(s)" not in notice


def test_bulk_action_applies_to_the_selection_only(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    chosen = [add_comment(database, body=f"Chosen {n}.") for n in range(3)]
    left = add_comment(database, body="Not chosen.")
    staff.sign_in()
    response = staff.client.post("/staff/actions", data={
        "csrf_token": staff.csrf, "action": "approve", "ids": [str(i) for i in chosen]})
    assert response.status_code == 303
    assert [get_comment(database, i).status for i in chosen] == [CommentStatus.APPROVED] * 3
    assert get_comment(database, left).status == CommentStatus.PENDING
    assert len(public_thread(staff.client)) == 3


def test_edit_redacts_and_keeps_the_original_in_the_audit_log(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body="Call me on 0700 000 000, I am Jo Bloggs.",
                             status=CommentStatus.APPROVED)
    staff.sign_in()
    response = staff.post(f"/staff/comments/{comment_id}/edit",
                          {"body": "Call me on [removed], I am [removed]."})
    assert response.status_code == 303
    redacted = "Call me on [removed], I am [removed]."
    assert get_comment(app.state.database, comment_id).body == redacted
    assert public_thread(staff.client)[0]["body_html"] == f"<p>{redacted}</p>"
    audit = staff.client.get("/staff/audit").text
    assert "Call me on 0700 000 000, I am Jo Bloggs." in audit
    assert "Call me on [removed], I am [removed]." in audit


def test_blank_edit_is_refused_naming_the_field(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, body="Keep me.")
    staff.sign_in()
    response = staff.post(f"/staff/comments/{comment_id}/edit", {"body": "   "})
    assert response.status_code == 422
    assert "Edited text must not be blank." in response.text
    assert get_comment(app.state.database, comment_id).body == "Keep me."


# Staff replies ----------------------------------------------------------------------------


def test_staff_reply_is_published_with_badge_name_and_signature(
    app: FastAPI, staff: AuthActions,
) -> None:
    parent = add_comment(app.state.database, body="I have been struggling.")
    staff.sign_in()
    response = staff.post(f"/staff/comments/{parent}/reply",
                          {"body": "Thank you for writing to us."})
    assert response.status_code == 303
    thread = public_thread(staff.client)
    assert thread[0]["id"] == parent  # replying approved the parent
    reply = thread[1]
    assert reply["parent_id"] == parent
    assert reply["staff"] is True
    assert reply["author"] == "Sam from the editorial team"
    assert reply["signature"] == "Sam, for the editorial team"
    assert reply["body_html"] == "<p>Thank you for writing to us.</p>"
    assert audit_actions(app, parent) == ["approve"]
    assert audit_actions(app, reply["id"]) == ["reply"]


def test_reader_using_a_staff_name_gets_no_badge(app: FastAPI, staff: AuthActions) -> None:
    add_comment(app.state.database, body="I am staff, honest.",
                author="Sam from the editorial team", status=CommentStatus.APPROVED)
    thread = public_thread(staff.client)
    assert thread[0]["staff"] is False and thread[0]["signature"] is None


def test_reply_form_can_start_from_the_crisis_template(app: FastAPI,
                                                       staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, urgent=True, body="I want to die.")
    staff.sign_in()
    soup = BeautifulSoup(staff.client.get(f"/staff/comments/{comment_id}").text, "html.parser")
    option = next(o for o in soup.select("#template option") if "crisis" in o.get_text())
    page = staff.client.get(f"/staff/comments/{comment_id}", params={"template": option["value"]})
    body = BeautifulSoup(page.text, "html.parser").select_one("#reply-body").get_text()
    assert "local emergency number" in body and "therapist" in body


def test_rejected_comment_cannot_be_answered(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, status=CommentStatus.REJECTED)
    staff.sign_in()
    response = staff.post(f"/staff/comments/{comment_id}/reply", {"body": "Hello"})
    assert response.status_code == 422
    assert public_thread(staff.client) == []


def test_unknown_comment_page_is_a_404(staff: AuthActions) -> None:
    staff.sign_in()
    response = staff.client.get("/staff/comments/4242")
    assert response.status_code == 404
    assert "no comment with id 4242" in response.text


# Templates, audit, privacy ----------------------------------------------------------------


def test_moderators_cannot_change_templates(app: FastAPI, staff: AuthActions) -> None:
    staff.sign_in("mod")
    page = staff.client.get("/staff/templates")
    assert "Reader who may be in crisis" in page.text
    response = staff.post("/staff/templates", {"name": "Mine", "body": "Text"})
    assert response.status_code == 403
    assert "Mine" not in staff.client.get("/staff/templates").text


def test_admins_add_edit_and_delete_templates(app: FastAPI, staff: AuthActions) -> None:
    staff.sign_in("boss")
    assert staff.post("/staff/templates", {"name": "Welcome", "body": "Hello there."}
                      ).status_code == 303
    soup = BeautifulSoup(staff.client.get("/staff/templates").text, "html.parser")
    template_id = next(i["value"] for i in soup.select('input[name="id"]')
                       if soup.select_one(f"#t{i['value']}-name")["value"] == "Welcome")
    assert staff.post("/staff/templates", {"id": template_id, "name": "Welcome",
                                           "body": "Hello again."}).status_code == 303
    assert "Hello again." in staff.client.get("/staff/templates").text
    assert staff.post(f"/staff/templates/{template_id}/delete").status_code == 303
    assert "Hello again." not in staff.client.get("/staff/templates").text
    audit = staff.client.get("/staff/audit").text
    for action in ("template_create", "template_update", "template_delete"):
        assert action in audit


def test_privacy_page_is_for_admins_only(staff: AuthActions) -> None:
    staff.sign_in("mod")
    assert staff.client.get("/staff/privacy").status_code == 403
    response = staff.post("/staff/privacy/erase", {"email": "a@example.org", "text": "keep",
                                                   "confirm": "yes"})
    assert response.status_code == 403


def test_admin_exports_and_erases_by_email(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    kept = add_comment(database, body="Published words.", author="Eve", email="eve@example.org",
                       status=CommentStatus.APPROVED)
    staff.sign_in("boss")
    exported = staff.post("/staff/privacy/export", {"email": "Eve@Example.org"})
    assert exported.status_code == 200
    data = json.loads(exported.text)
    assert [c["body"] for c in data["comments"]] == ["Published words."]
    assert data["comments"][0]["author_name"] == "Eve"
    response = staff.post("/staff/privacy/erase", {"email": "eve@example.org", "text": "keep",
                                                   "confirm": "yes"})
    assert response.status_code == 200
    assert "Erased the data of 1 comment." in response.text
    comment = get_comment(database, kept)
    assert comment.erased and comment.email_hash == "" and comment.ip_hash is None
    assert public_thread(staff.client)[0]["author"] == "Former reader"


def test_erase_without_confirmation_changes_nothing(app: FastAPI, staff: AuthActions) -> None:
    comment_id = add_comment(app.state.database, email="fay@example.org")
    staff.sign_in("boss")
    response = staff.post("/staff/privacy/erase", {"email": "fay@example.org", "text": "remove"})
    assert response.status_code == 422
    assert "Confirmation" in response.text
    assert not get_comment(app.state.database, comment_id).erased


# Accessibility basics ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/staff/sign-in", "/staff/", "/staff/comments/{id}",
                                  "/staff/audit", "/staff/templates", "/staff/privacy"])
def test_pages_have_one_h1_a_skip_link_and_labelled_fields(app: FastAPI, staff: AuthActions,
                                                           path: str) -> None:
    comment_id = add_comment(app.state.database)
    if path != "/staff/sign-in":
        staff.sign_in("boss")
    page = staff.client.get(path.format(id=comment_id))
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html["lang"] == "en"
    assert len(soup.find_all("h1")) == 1
    skip = soup.select_one("a.skip-link")
    assert skip["href"] == "#main" and soup.select_one("main#main")
    for field in soup.select("input:not([type=hidden]), select, textarea"):
        assert field.get("id") and soup.select_one(f'label[for="{field["id"]}"]'), field
    for button in soup.select("button"):
        assert button.get_text(strip=True)


def test_staff_pages_are_not_cached_or_framed(staff: AuthActions) -> None:
    staff.sign_in()
    response = staff.client.get("/staff/")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
