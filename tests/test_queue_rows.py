"""The queue as compact rows over real HTTP: order, urgency, actions on the row, quick reply,
templates that keep typed text, bulk delete confirmation, grouping by article, the script."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from staff_support import (
    ARTICLE,
    OTHER_ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,  # noqa: F401 - autouse fixture
    get_comment,
    make_staff,
)

from comments_service.store.models import Comment, CommentStatus, utcnow
from comments_service.verbs.moderation import Moderation


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app_for(tmp_path)


def create_app_for(tmp_path: Path, **overrides: object) -> FastAPI:
    from comments_service.web.app import create_app
    return create_app(make_settings(tmp_path, notify_interval_seconds=0, **overrides))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(app: FastAPI, client: TestClient) -> AuthActions:
    make_staff(app.state.database, "mod", display_name="Sam from the editorial team",
               signature="Sam, for the editorial team")
    auth = AuthActions(client)
    auth.sign_in()
    return auth


def queue_soup(staff: AuthActions, **params: str) -> BeautifulSoup:
    response = staff.client.get("/staff/", params=params)
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def public_bodies(client: TestClient, article_id: str = ARTICLE) -> list[str]:
    return [c["body_html"] for c in
            client.get(f"/api/articles/{article_id}/comments").json()["comments"]]


def test_rows_put_urgent_first_with_the_detectors_reasons_then_oldest(
    app: FastAPI, staff: AuthActions,
) -> None:
    database = app.state.database
    now = utcnow()
    older = add_comment(database, body="Posted first.", created_at=now - timedelta(hours=3))
    newer = add_comment(database, body="Posted second.", created_at=now - timedelta(hours=1))
    flagged = add_comment(database, body="I have been hoarding my meds.", urgent=True,
                          created_at=now - timedelta(minutes=5))
    flag_as_the_detector_would(app, flagged, "I have been hoarding my meds.")
    soup = queue_soup(staff)
    rows = soup.select("ol.queue article.row")
    assert [r["data-comment-id"] for r in rows] == [str(flagged), str(older), str(newer)]
    assert "is-urgent" in rows[0]["class"]
    assert rows[0].select_one("h3").get_text(" ", strip=True).startswith("Urgent")
    assert "hoarding my meds" in rows[0].select_one(".row-reasons").get_text()
    assert soup.select_one("#results-heading").get_text(strip=True) == "3 comments"
    # The status is the filter's: not repeated on every row of the pending list.
    assert "pending" not in rows[1].select_one(".row-facts").get_text()


def flag_as_the_detector_would(app: FastAPI, comment_id: int, body: str) -> None:
    # Stored as the detector stores its reasons: [[category, matched text], ...].
    reasons = json.dumps([["plans or means", body.split("been ")[-1].rstrip(".")]])
    with app.state.database.write() as session:
        comment = session.get(Comment, comment_id)
        comment.urgent, comment.urgent_reasons = True, reasons


def test_one_comment_reads_as_one_comment(app: FastAPI, staff: AuthActions) -> None:
    add_comment(app.state.database)
    assert queue_soup(staff).select_one("#results-heading").get_text(strip=True) == "1 comment"


def test_destructive_actions_are_set_apart_and_styled_as_danger(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database)
    row = queue_soup(staff).select_one(f"#row-{comment_id}")
    safe = [b["value"] for b in row.select(".safe-actions button")]
    danger = row.select(".danger-actions button")
    assert safe[:2] == [f"approve:{comment_id}", f"reject:{comment_id}"]
    assert [b["value"] for b in danger] == [f"spam:{comment_id}", f"delete:{comment_id}"]
    assert all("danger" in b["class"] for b in danger)
    # Without JavaScript the row's Reply link leads to the comment's own page.
    assert row.select_one("a.reply-link")["href"] == f"/staff/comments/{comment_id}#reply"


def test_a_row_button_acts_on_that_row_only(app: FastAPI, staff: AuthActions) -> None:
    database = app.state.database
    first = add_comment(database, body="First.")
    second = add_comment(database, body="Second.")
    response = staff.post("/staff/actions", {"action": f"approve:{second}",
                                             "back": "/staff/"})
    assert response.status_code == 303
    assert get_comment(database, second).status == CommentStatus.APPROVED
    assert get_comment(database, first).status == CommentStatus.PENDING
    notice = BeautifulSoup(staff.client.get(response.headers["location"]).text, "html.parser")
    assert notice.select_one(".notice").get_text(strip=True) == "Approved 1 comment."


def test_quick_reply_from_a_row_publishes_as_staff_and_returns_to_the_queue(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body="Is there a way to start again?")
    form = queue_soup(staff).select_one(f"#quick-reply-{comment_id}")
    assert form.has_attr("hidden")  # shown by staff.js; without it, the Reply link
    back = form.select_one('input[name="back"]')["value"]
    response = staff.post(form["action"], {"body": "Yes: talk it through together.",
                                           "back": back})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/?")
    parent, reply = app_client_thread(staff)
    assert parent["body_html"] == "<p>Is there a way to start again?</p>"
    assert reply["parent_id"] == comment_id
    assert reply["body_html"] == "<p>Yes: talk it through together.</p>"
    assert reply["staff"] is True
    assert reply["signature"] == "Sam, for the editorial team"


def app_client_thread(staff: AuthActions) -> list[dict[str, object]]:
    return staff.client.get(f"/api/articles/{ARTICLE}/comments").json()["comments"]


def test_use_template_without_javascript_appends_to_what_was_typed(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database)
    page = BeautifulSoup(staff.client.get(f"/staff/comments/{comment_id}").text, "html.parser")
    template = page.select("#template option")[0]
    template_body = next(t.body for t in Moderation(app.state.database, app.state.keyring)
                         .templates() if str(t.id) == template["value"])
    response = staff.post(f"/staff/comments/{comment_id}/reply", {
        "body": "Thank you for writing, Reader One.", "template": template["value"],
        "use_template": "yes"})
    assert response.status_code == 200
    box = BeautifulSoup(response.text, "html.parser").select_one("#reply-body").get_text()
    assert box == f"Thank you for writing, Reader One.\n\n{template_body}"
    # Nothing was published: the reader's comment still waits.
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert public_bodies(staff.client) == []


def test_bulk_delete_asks_first_and_deletes_only_when_confirmed(
    app: FastAPI, staff: AuthActions,
) -> None:
    database = app.state.database
    chosen = [add_comment(database, body=f"Delete me {n}.") for n in range(2)]
    response = staff.post("/staff/actions", {"action": "delete", "ids": chosen,
                                             "back": "/staff/"})
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("h1").get_text() == "Delete these comments?"
    button = page.select_one('form[action="/staff/actions"] button[value="delete"]')
    assert button.get_text(strip=True) == "Delete 2 comments"
    assert [get_comment(database, i).status for i in chosen] == [CommentStatus.PENDING] * 2
    confirmed = staff.post("/staff/actions", {"action": "delete", "ids": chosen,
                                              "confirm": "yes", "back": "/staff/"})
    assert confirmed.status_code == 303
    assert [get_comment(database, i).status for i in chosen] == [CommentStatus.DELETED] * 2


def test_grouping_by_article_shows_each_articles_recent_comments_collapsed(
    app: FastAPI, staff: AuthActions,
) -> None:
    database = app.state.database
    add_comment(database, body="Earlier published words.", status=CommentStatus.APPROVED)
    add_comment(database, body="Waiting here.")
    add_comment(database, body="Waiting elsewhere.", article_id=OTHER_ARTICLE)
    add_comment(database, body="Rejected words.", status=CommentStatus.REJECTED)
    soup = queue_soup(staff, group="article")
    groups = soup.select("section.article-group")
    assert [g.select_one("h3.group-heading").get_text(" ", strip=True) for g in groups] == [
        "Therapeutic Impasse (1 comment here)",
        "Ending Therapy Well (1 comment here)"]
    context = groups[0].select_one("details.context")
    assert not context.has_attr("open")
    assert "Earlier published words." in context.get_text()
    assert "Rejected words." not in context.get_text()
    assert [b.get_text(strip=True) for b in groups[0].select(".body")] == ["Waiting here."]
    # Pages keep the grouping.
    assert soup.select_one('input[name="back"]')["value"].endswith("group=article")


def test_the_queue_page_loads_its_script_under_a_self_only_policy(
    staff: AuthActions, app: FastAPI,
) -> None:
    add_comment(app.state.database)
    response = staff.client.get("/staff/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    soup = BeautifulSoup(response.text, "html.parser")
    assert [s.get("src") for s in soup.select("script[src]")] == ["/staff/staff.js"]
    script = staff.client.get("/staff/staff.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "keydown" in script.text
    # The shortcuts are listed on the page itself.
    keys = soup.select_one("#shortcuts").get_text(" ", strip=True)
    for key in ("j", "k", "a", "r", "s", "e", "?"):
        assert f" {key} " in f" {keys} "


def test_quick_reply_to_an_urgent_comment_needs_the_confirmation_and_keeps_the_text(
    app: FastAPI, staff: AuthActions,
) -> None:
    comment_id = add_comment(app.state.database, body="I cannot cope any more.", urgent=True)
    form = queue_soup(staff).select_one(f"#quick-reply-{comment_id}")
    assert form.select_one('input[name="publish_parent"]') is not None
    response = staff.post(form["action"], {"body": "We are here. Please call the line.",
                                           "back": "/staff/"})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#reply-body").get_text() == "We are here. Please call the line."
    assert "flagged urgent" in page.select_one("#error-summary").get_text()
    assert get_comment(app.state.database, comment_id).status == CommentStatus.PENDING
    assert public_bodies(staff.client) == []
