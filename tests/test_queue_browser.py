"""The queue in Debian's Chromium: keyboard shortcuts on the focused row, quick reply on the
row, templates inserted at the cursor, Undo, and no axe violations on the new pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_support import axe_violations
from conftest import make_settings
from sqlalchemy import select
from staff_support import PASSWORD, add_comment, get_comment, make_staff
from test_site_a11y import browser  # noqa: F401 - the shared Chromium fixture

from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.moderation import Moderation
from comments_service.web.app import create_app

pytestmark = pytest.mark.browser


class Served:
    def __init__(self, url: str, database: Database) -> None:
        self.url = url
        self.database = database


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app under uvicorn on a free port, with an admin and a reply template."""
    settings = make_settings(tmp_path_factory.mktemp("queue-browser"),
                             notify_interval_seconds=0, serve_site=False)
    app = create_app(settings)
    database = app.state.database
    make_staff(database, "boss", role="admin", display_name="Alex Editor",
               signature="Alex, for the editorial team")
    moderation = Moderation(database, app.state.keyring)
    # One template, so the first in every list is the one the tests insert.
    for template in moderation.templates():
        moderation.delete_template(_admin_actor(database), template.id)
    moderation.save_template(_admin_actor(database), "Thanks",
                             "Thank you for sharing this with us.")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", database)
    server.should_exit = True
    thread.join(timeout=10)


def _admin_actor(database: Database):  # type: ignore[no-untyped-def]
    from comments_service.store.models import StaffUser
    from comments_service.verbs.audit import Actor
    with database.read() as session:
        return Actor.staff(session.scalars(select(StaffUser)).one())


@pytest.fixture
def page(browser, served: Served):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{served.url}/staff/sign-in")
    page.locator("#username").fill("boss")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.url}/staff/")
    yield page
    context.close()


def fresh_queue(served: Served, *bodies: str) -> list[int]:
    """Empty the pending queue, then add these comments (oldest first)."""
    with served.database.write() as session:
        for comment in session.scalars(select(Comment).where(
                Comment.status == CommentStatus.PENDING)):
            comment.status = CommentStatus.REJECTED
    return [add_comment(served.database, body=body, author=f"Reader {n}")
            for n, body in enumerate(bodies, 1)]


def focused_row(page) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate("document.activeElement.closest('article.row')?.dataset.commentId"
                         " || ''")


def test_j_and_k_move_between_rows_and_a_approves_then_undo_restores(
    page, served: Served,  # type: ignore[no-untyped-def]
) -> None:
    first, second = fresh_queue(served, "First to read.", "Second to read.")
    page.reload()
    page.keyboard.press("j")
    assert focused_row(page) == str(first)
    page.keyboard.press("j")
    assert focused_row(page) == str(second)
    page.keyboard.press("k")
    assert focused_row(page) == str(first)
    page.keyboard.press("a")
    page.wait_for_selector(".notice")
    assert page.get_by_role("status").inner_text() == "Approved 1 comment."
    assert get_comment(served.database, first).status == CommentStatus.APPROVED
    assert page.get_by_role("link", name="View on site").get_attribute("href").endswith(
        f"#comment-{first}")
    page.get_by_role("button", name="Undo").click()
    page.wait_for_selector(f"#row-{first}")
    assert get_comment(served.database, first).status == CommentStatus.PENDING
    assert get_comment(served.database, second).status == CommentStatus.PENDING


def test_shortcuts_do_not_fire_while_typing_and_question_mark_lists_them(
    page, served: Served,  # type: ignore[no-untyped-def]
) -> None:
    (only,) = fresh_queue(served, "Only one here.")
    page.reload()
    page.locator("#q").click()
    page.keyboard.type("jars")  # j, a, r and s typed into the search box
    assert page.locator("#q").input_value() == "jars"
    assert get_comment(served.database, only).status == CommentStatus.PENDING
    page.locator("main h1").click()
    assert not page.locator("#shortcuts").evaluate("d => d.open")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").evaluate("d => d.open")
    assert page.locator("#shortcuts dd", has_text="mark as spam").is_visible()


def test_quick_reply_on_the_row_keeps_typed_text_when_a_template_is_inserted(
    page, served: Served,  # type: ignore[no-untyped-def]
) -> None:
    (comment_id,) = fresh_queue(served, "Does anyone else feel stuck?")
    page.reload()
    page.keyboard.press("j")
    page.keyboard.press("e")
    box = page.locator(f"#quick-reply-body-{comment_id}")
    assert box.is_visible()
    assert page.evaluate("document.activeElement.id") == f"quick-reply-body-{comment_id}"
    page.keyboard.type("Dear Reader 1, Best wishes.")
    # Typing "a", "r", "s" in the box above approved, rejected or spammed nothing.
    assert get_comment(served.database, comment_id).status == CommentStatus.PENDING
    # Put the cursor after the greeting, then insert the template there.
    box.evaluate("b => b.setSelectionRange(14, 14)")
    page.locator(f"#quick-reply-{comment_id} button.use-template").click()
    assert box.input_value() == ("Dear Reader 1,\n\nThank you for sharing this with us.\n\n"
                                 " Best wishes.")
    page.locator(f"#quick-reply-{comment_id}").get_by_role("button",
                                                          name="Publish reply").click()
    page.wait_for_selector(".notice")
    assert page.get_by_role("status").inner_text() == "Your reply is published."
    assert page.url.startswith(f"{served.url}/staff/")
    with served.database.read() as session:
        reply = session.scalars(select(Comment).where(Comment.parent_id == comment_id)).one()
    assert reply.is_staff and "Thank you for sharing this with us." in reply.body
    assert get_comment(served.database, comment_id).status == CommentStatus.APPROVED


def test_template_goes_in_at_the_cursor_on_the_comment_page_too(
    page, served: Served,  # type: ignore[no-untyped-def]
) -> None:
    (comment_id,) = fresh_queue(served, "A comment to answer in full.")
    page.goto(f"{served.url}/staff/comments/{comment_id}")
    box = page.locator("#reply-body")
    box.fill("Hello. Take care.")
    box.evaluate("b => b.setSelectionRange(6, 6)")
    page.locator("#reply button.use-template").click()
    assert page.url == f"{served.url}/staff/comments/{comment_id}"  # no page load
    assert box.input_value() == "Hello.\n\nThank you for sharing this with us.\n\n Take care."


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/staff/", "/staff/?group=article", "/staff/dashboard",
                                  "/staff/account", "notice"])
def test_new_staff_pages_have_no_axe_violations(
    browser, served: Served, path: str, scheme: str, tmp_path: Path,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    ids = fresh_queue(served, "Waiting for a look.", "Another one.")
    add_comment(served.database, body="Published context.", status=CommentStatus.APPROVED)
    add_comment(served.database, body="I cannot cope any more.", urgent=True)
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{served.url}/staff/sign-in")
        page.locator("#username").fill("boss")
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{served.url}/staff/")
        if path == "notice":
            page.get_by_role("button", name=f"Approve comment #{ids[0]}").click()
            page.wait_for_selector(".undo-offer")
        else:
            page.goto(f"{served.url}{path}")
        page.keyboard.press("j")
        page.keyboard.press("e")  # the quick reply box open, where there is a row
        violations = axe_violations(page)
    finally:
        context.close()
    assert violations == []


def test_enter_on_a_row_opens_its_reply_box_and_escape_closes_it(
    page, served: Served,  # type: ignore[no-untyped-def]
) -> None:
    first, second = fresh_queue(served, "One.", "Two.")
    page.reload()
    page.keyboard.press("j")
    page.keyboard.press("x")  # selected for a bulk action
    assert page.locator(f"#select-{first}").is_checked()
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    assert page.locator(f"#quick-reply-{second}").is_visible()
    assert not page.locator(f"#quick-reply-{first}").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator(f"#quick-reply-{second}").is_visible()
    assert focused_row(page) == str(second)
    # Enter on a row's own button keeps its usual meaning: it presses the button.
    page.get_by_role("button", name=f"Reject comment #{second}").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".notice")
    assert get_comment(served.database, second).status == CommentStatus.REJECTED
    assert get_comment(served.database, first).status == CommentStatus.PENDING
