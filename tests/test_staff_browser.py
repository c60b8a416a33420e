"""The staff pages in Debian's Chromium: axe finds no violations, and the keyboard suffices."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from browser_support import axe_violations
from conftest import make_settings
from staff_support import PASSWORD, add_comment, get_comment, make_staff
from test_site_a11y import browser  # noqa: F401 - the shared Chromium fixture

from comments_service.store.database import Database
from comments_service.store.models import CommentStatus
from comments_service.verbs.moderation import Moderation
from comments_service.web.app import create_app

pytestmark = pytest.mark.browser


class Served:
    def __init__(self, url: str, database: Database) -> None:
        self.url = url
        self.database = database


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app under uvicorn on a free port, with an admin, a reply and an urgent comment."""
    settings = make_settings(tmp_path_factory.mktemp("staff-browser"),
                             notify_interval_seconds=0, serve_site=False)
    app = create_app(settings)
    database = app.state.database
    admin = make_staff(database, "boss", role="admin", display_name="Alex Editor")
    parent = add_comment(database, body="An approved question.", status=CommentStatus.APPROVED)
    add_comment(database, body="A reply waiting.", parent_id=parent, author="Kim")
    add_comment(database, body="I cannot cope any more.", urgent=True, author="Lee")
    Moderation(database, app.state.keyring).reply_as_staff(parent, admin.id, "Thank you.")
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


@pytest.fixture
def page(browser, served: Served):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in_by_keyboard(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served.url}/staff/")
    assert "/staff/sign-in" in page.url
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("boss")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served.url}/staff/")


def test_keyboard_alone_signs_in_and_approves_the_urgent_comment(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    sign_in_by_keyboard(page, served)
    first = page.locator("ol.queue h3").first
    assert first.inner_text().startswith("Urgent")
    comment_id = int(first.inner_text().split("#", 1)[1].split()[0])
    button = page.get_by_role("button", name=f"Approve comment #{comment_id}")
    button.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Approved 1 comment."
    assert get_comment(served.database, comment_id).status == CommentStatus.APPROVED


def test_skip_link_moves_focus_to_the_main_content(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served.url}/staff/sign-in")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/staff/sign-in", "/staff/?status=all", "/staff/comments/3",
                                  "/staff/comments/4",
                                  "/staff/audit", "/staff/templates", "/staff/privacy",
                                  "/staff/blocklist", "/staff/?status=likely_spam"])
def test_staff_pages_have_no_axe_violations(browser, served: Served, path: str,  # type: ignore[no-untyped-def]  # noqa: F811
                                            scheme: str, tmp_path: Path) -> None:
    # The pages forbid inline script (CSP); axe is injected, so this context bypasses it.
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)
    try:
        page = context.new_page()
        if path != "/staff/sign-in":
            page.goto(f"{served.url}/staff/sign-in")
            page.locator("#username").fill("boss")
            page.locator("#password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{served.url}/staff/")
        page.goto(f"{served.url}{path}")
        violations = axe_violations(page)
    finally:
        context.close()
    assert violations == []
