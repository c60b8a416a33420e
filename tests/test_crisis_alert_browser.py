"""Crisis signposting in Debian's Chromium on a phone-sized screen, with and without JavaScript.

One service subprocess in development mode (it serves and re-bakes the built site) for the
module; the tests run in file order: urgent posts while comments are open, then the pause.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import axe_violations, launched_chromium, require_axe
from service_support import free_port
from site_support import REPO

pytestmark = pytest.mark.browser

ARTICLE = "therapeutic-impasse"
SECRET = "crisis-browser-secret-that-is-long-enough-0123456789"
PHONE = {"width": 375, "height": 667}
WAIT_MS = 10_000
MESSAGE = "Our moderators are away this week; comments reopen on Monday."
# True once the whole element is inside the viewport, below Material's sticky header, with
# nothing (such as the "Back to top" button) drawn over its heading.
FULLY_VISIBLE = """(selector) => {
  const element = document.querySelector(selector);
  const box = element.getBoundingClientRect();
  const header = document.querySelector(".md-header").getBoundingClientRect();
  const heading = element.querySelector("h3").getBoundingClientRect();
  const onTop = document.elementFromPoint(heading.left + heading.width / 2,
                                          heading.top + heading.height / 2);
  return box.height > 0 && box.top >= header.bottom && box.bottom <= window.innerHeight &&
    element.contains(onTop);
}"""


@dataclass
class Service:
    url: str
    env: dict[str, str]
    site_dir: Path

    def article_url(self) -> str:
        return f"{self.url}/{ARTICLE}/"

    def page_html(self) -> str:
        return (self.site_dir / ARTICLE / "index.html").read_text(encoding="utf-8")

    def cli(self, *argv: str) -> str:
        result = subprocess.run([sys.executable, "-m", "comments_service.cli", *argv],
                                env=self.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the service did not answer /healthz: {log.read_text()}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("crisis-browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update({
        "COMMENTS_MODE": "development",
        "COMMENTS_SECRET_KEY": SECRET,
        "COMMENTS_VAR_DIR": str(base / "var"),
        "COMMENTS_DOCS_DIR": str(REPO / "docs"),
        "COMMENTS_SITE_DIR": str(base / "site"),
        "COMMENTS_SITE_URL": f"{url}/",
        "COMMENTS_MIN_SUBMIT_SECONDS": "0",
        "COMMENTS_BAKE_DEBOUNCE_SECONDS": "0.2",
        "NO_MKDOCS_2_WARNING": "1",
    })
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(base / "site")],
        capture_output=True, text=True, env=env, cwd=base, timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    log = base / "service.log"
    with open(log, "wb") as out:
        # serve migrates, then serves and (development mode) bakes the site at start-up.
        process = subprocess.Popen(
            [sys.executable, "-m", "comments_service.cli", "serve", "--port", str(port)],
            env=env, cwd=base, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, process, log)
        yield Service(url=url, env=env, site_dir=base / "site")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with launched_chromium() as chromium:
        yield chromium


def _phone(browser, javascript: bool):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = _phone(browser, javascript=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def nojs_page(browser):  # type: ignore[no-untyped-def]
    context = _phone(browser, javascript=False)
    yield context.new_page()
    context.close()


def fill_form(page, body: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#cs-author").fill("Robin Reader")
    page.locator("#cs-email").fill("robin.reader@example.org")
    page.locator("#cs-body").fill(body)
    page.locator("#cs-terms").check()


def assert_alert_shown(page) -> None:  # type: ignore[no-untyped-def]
    alert = page.locator("#comment-urgent")
    alert.wait_for(state="visible")
    assert alert.get_attribute("role") == "alert"
    assert alert.locator("h3").inner_text() == "If you are in danger now"
    assert alert.locator("a.cs-tel").first.get_attribute("href") == "tel:08081570192"
    assert alert.locator("a.cs-sms").first.get_attribute("href") == "sms:07700900461"
    # Distinct from the grey thank-you box, which stays hidden.
    assert page.locator("#comment-pending").is_hidden()
    page.wait_for_function(FULLY_VISIBLE, arg="#comment-urgent", timeout=WAIT_MS)


def test_urgent_post_shows_the_alert_fully_below_the_sticky_header(service, page):
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    # The line with the numbers sits in the form before anything is typed.
    line = page.locator("#comment-form .cs-danger-line")
    assert line.inner_text().startswith("If you are in danger now")
    assert line.locator("a.cs-tel").get_attribute("href") == "tel:08081570192"

    fill_form(page, "I have been thinking about suicide and I do not know who to tell.")
    page.get_by_role("button", name="Post comment").click()

    assert_alert_shown(page)
    assert page.evaluate("document.activeElement.id") == "comment-urgent"
    assert page.url == service.article_url()


def test_urgent_post_without_javascript_lands_on_the_full_alert(service, nojs_page):
    page = nojs_page
    page.goto(service.article_url())
    assert page.locator("#comment-urgent").is_hidden()
    fill_form(page, "Some nights I want to end my life; reading this helped a little.")
    page.get_by_role("button", name="Post comment").click()

    page.wait_for_url(f"{service.article_url()}?comment=urgent#comment-urgent")
    assert_alert_shown(page)


def test_ordinary_post_still_gets_the_thank_you_box_not_the_alert(service, nojs_page):
    page = nojs_page
    page.goto(service.article_url())
    fill_form(page, "A clear article; the references were useful for my course.")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"{service.article_url()}?comment=pending#comment-pending")
    page.locator("#comment-pending").wait_for(state="visible")
    assert page.locator("#comment-urgent").is_hidden()


def _status(page, **values: object) -> None:  # type: ignore[no-untyped-def]
    body = {"paused": False, "pause_message": None, "staffed": True, "next_staffed_at": None,
            "next_staffed_text": None, **values}
    page.route("**/api/status", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(body)))


def test_outside_staffed_hours_the_script_says_when_and_shows_every_resource(service, page):
    _status(page, staffed=False, next_staffed_at="2027-03-29T08:00:00Z",
            next_staffed_text="Monday 29 March, 09:00 (Europe/London time)")
    page.goto(service.article_url())
    note = page.locator("#comment-form .cs-offhours")
    note.wait_for(state="visible")
    assert note.inner_text() == ("Our team is not reading comments right now: replies wait "
                                 "until Monday 29 March, 09:00 (Europe/London time).")
    help_box = page.locator("#comment-form .cs-offhours-help")
    assert help_box.locator("a.cs-tel").get_attribute("href") == "tel:08081570192"
    assert help_box.locator("li").count() == 3


def test_live_script_closes_the_form_when_the_service_says_paused(service, page):
    _status(page, paused=True, pause_message=MESSAGE)
    page.goto(service.article_url())
    paused = page.locator(".cs-paused")
    paused.wait_for(state="visible")
    assert MESSAGE in paused.inner_text()
    assert paused.locator("a.cs-tel").get_attribute("href") == "tel:08081570192"
    assert page.locator("#comment-form").is_hidden()


def test_a_post_refused_by_a_new_pause_keeps_what_the_reader_wrote(service, page):
    status = {"paused": False, "pause_message": None, "staffed": True,
              "next_staffed_at": None, "next_staffed_text": None}
    page.route("**/api/status", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(status)))
    page.route(f"**/api/articles/{ARTICLE}/comments", lambda route: route.continue_()
               if route.request.method != "POST" else route.fulfill(
                   status=403, content_type="application/json",
                   body=json.dumps({"detail": "Comments are paused.", "errors": {}})))
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    fill_form(page, "Words written just as the pause began.")
    status.update(paused=True, pause_message=MESSAGE)  # paused after the page loaded
    page.get_by_role("button", name="Post comment").click()

    kept = page.locator(".cs-paused textarea.cs-kept")
    kept.wait_for(state="visible")
    assert kept.input_value() == "Words written just as the pause began."
    assert page.evaluate("document.activeElement.id") == "cs-kept"
    assert page.locator("#comment-form").is_hidden()


def _wait_for_page(service: Service, paused: bool) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ('class="cs-paused"' in service.page_html()) is paused:
            return
        time.sleep(0.2)
    raise AssertionError(f"the page was not re-baked {'paused' if paused else 'open'}")


def test_pause_rebakes_the_page_closed_and_unpause_restores_the_form(service, page, nojs_page):
    service.cli("pause", "on", "--message", MESSAGE)
    try:
        _wait_for_page(service, paused=True)
        for reader in (nojs_page, page):
            reader.goto(service.article_url())
            paused = reader.locator(".cs-paused")
            paused.wait_for(state="visible")
            assert MESSAGE in paused.inner_text()
            assert paused.locator("a.cs-tel").get_attribute("href") == "tel:08081570192"
            assert reader.locator("#comment-form").is_hidden()
            assert reader.locator(".cs-count").is_visible()
    finally:
        service.cli("pause", "off")
    _wait_for_page(service, paused=False)
    nojs_page.goto(service.article_url())
    assert nojs_page.locator("#comment-form").is_visible()
    assert nojs_page.locator(".cs-paused").count() == 0


def test_alert_off_hours_help_and_paused_notice_pass_axe(service, browser):
    require_axe()
    # bypass_csp: axe is injected as an inline script, which the site's policy forbids.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        _status(page, staffed=False, next_staffed_text="Monday 29 March, 09:00 (UTC time)")
        page.route(f"**/api/articles/{ARTICLE}/comments", lambda route: route.continue_()
                   if route.request.method != "POST" else route.fulfill(
                       status=202, content_type="application/json", body=json.dumps(
                           {"id": 1, "status": "pending", "message": "Thank you.",
                            "crisis_message": "Please do not wait for a reply here."})))
        page.goto(service.article_url())
        page.locator("#comment-form .cs-offhours-help").wait_for()
        fill_form(page, "Checking the alert for accessibility.")
        page.get_by_role("button", name="Post comment").click()
        page.locator("#comment-urgent").wait_for(state="visible")
        violations = axe_violations(page)
        page.unroute("**/api/status")
        _status(page, paused=True, pause_message=MESSAGE)
        page.reload()
        page.locator(".cs-paused").wait_for(state="visible")
        violations += axe_violations(page)
    finally:
        context.close()
    assert violations == []
