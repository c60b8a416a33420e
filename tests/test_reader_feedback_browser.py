"""What a reader sees after each outcome, in Chromium: their own comment awaiting
moderation where it will appear, focus on every message, a skip link, the "email me"
option only when mail can be sent, and replying to one comment without JavaScript.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import axe_violations, launched_chromium, require_axe
from reader_support import ARTICLE, ReaderSite, reader_site
from service_support import approve
from thread_support import seed_thread

pytestmark = pytest.mark.browser

WAIT_MS = 10_000
CHAINS: list[list[int]] = []
STATUS = {"paused": False, "pause_message": None, "staffed": True, "next_staffed_at": None,
          "next_staffed_text": None}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReaderSite]:
    def seed(database: Any) -> None:
        CHAINS[:] = seed_thread(database, ARTICLE, roots=3)

    with reader_site(tmp_path_factory, seed, poll=1) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def open_article(site: ReaderSite, page: Any) -> None:
    page.goto(site.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")


def fill(page: Any, body: str) -> None:
    page.locator("#cs-author").fill("Robin Reader")
    page.locator("#cs-email").fill("robin@example.org")
    page.locator("#cs-body").fill(body)
    page.locator("#cs-terms").check()


def focused(page: Any) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.className")


def test_my_comment_waits_in_place_for_me_alone_until_it_is_approved(site, context, page,
                                                                      browser):
    open_article(site, page)
    fill(page, "My own words.\n\nA second paragraph.")
    page.get_by_role("button", name="Post comment").click()

    mine = page.locator("li.cs-pending")
    mine.wait_for()
    assert "Awaiting moderation" in mine.text_content()
    assert mine.locator(".cs-body p").all_inner_texts() == ["My own words.", "A second paragraph."]
    # Where it will appear: after the other top-level comments, oldest first.
    assert page.locator(".cs-thread > ol.cs-list > li").last.get_attribute("class") == \
        "cs-item cs-pending"
    assert focused(page) == "comment-pending"
    assert page.locator(".cs-count").inner_text() == "3 comments"
    require_axe()
    assert axe_violations(page) == []

    page.reload()
    page.locator("li.cs-pending").wait_for()
    other = browser.new_context()
    try:
        stranger = other.new_page()
        open_article(site, stranger)
        assert stranger.locator("li.cs-pending").count() == 0
    finally:
        other.close()

    comment_id = int(page.evaluate(
        "JSON.parse(sessionStorage.getItem('cs-pending:therapeutic-impasse'))[0].id"))
    approve(site.database, comment_id)
    page.locator(f"#comment-{comment_id}").wait_for()
    page.locator("li.cs-pending").wait_for(state="detached")
    assert page.get_by_text("My own words.").count() == 1


def test_a_pending_reply_waits_under_the_comment_it_answers(site, page):
    open_article(site, page)
    parent = CHAINS[0][0]
    page.locator(f"#comment-{parent} .cs-reply").click()
    fill(page, "A reply of mine.")
    page.get_by_role("button", name="Post comment").click()
    page.locator(f'li[data-comment-id="{parent}"] > ol.cs-replies > li.cs-pending').wait_for()


@pytest.mark.parametrize(("answer", "expected"), [
    ({"status": 429, "headers": {"Retry-After": "60"},
      "body": '{"detail": "Too many.", "errors": {}}'}, "try again in 1 minute"),
    (None, "did not answer"),
], ids=["rate-limit", "network"])
def test_focus_lands_on_the_message_after_a_refusal(site, page, answer, expected):
    def refuse(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
        elif answer is None:
            route.abort("connectionrefused")
        else:
            route.fulfill(content_type="application/json", **answer)

    page.route(f"{site.url}/api/articles/{ARTICLE}/comments", refuse)
    open_article(site, page)
    fill(page, "Words to keep.")
    page.get_by_role("button", name="Post comment").click()
    page.locator(".cs-status", has_text=expected).wait_for()
    assert focused(page) == "cs-status cs-status--error"
    assert page.locator("li.cs-pending").count() == 0


def test_focus_lands_on_the_first_field_at_fault(site, page):
    open_article(site, page)
    page.locator("#cs-author").fill("Robin Reader")
    page.get_by_role("button", name="Post comment").click()
    page.locator("#cs-email-error").wait_for()
    assert focused(page) == "cs-email"


def test_the_skip_link_takes_the_reader_to_the_comments(site, page):
    open_article(site, page)
    page.get_by_role("link", name="Skip to comments").click()
    page.wait_for_function("location.hash === '#comments'")
    assert page.locator("#comments-heading").is_visible()


def test_email_me_is_offered_only_when_the_service_can_send_mail(site, page):
    open_article(site, page)
    assert page.locator("#cs-notify").is_hidden()

    page.route(f"{site.url}/api/status", lambda route: route.fulfill(
        content_type="application/json", body=json.dumps({**STATUS, "mail": True})))
    page.reload()
    page.locator("#cs-notify").wait_for(state="visible")


def test_without_javascript_a_reader_replies_to_one_comment(site, browser):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto(site.article_url())
        parent = CHAINS[1][0]
        page.locator(f"#comment-{parent}").get_by_role("link", name="Reply").click()
        page.locator("#replying-to", has_text="Reader 1").wait_for()
        page.locator("#field-author").fill("Kit Reader")
        page.locator("#field-email").fill("kit@example.org")
        page.locator("#field-body").fill("Answering you without a script.")
        page.locator("#field-accept_terms").check()
        page.get_by_role("button", name="Post comment").click()
        page.wait_for_url(f"**/{ARTICLE}/?comment=pending#comment-pending")
        assert page.locator("#comment-pending").is_visible()
    finally:
        context.close()
