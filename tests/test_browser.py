"""A reader and a moderator in Debian's Chromium, against the real service serving a fresh site.

One service subprocess (development mode: it serves the built site at / and re-bakes it
after each moderation change) and one build per module; the tests run in file order, as
one story: post, fix an error, get approved and answered, read it, and again without
JavaScript.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import axe_violations, launched_chromium, require_axe
from site_support import REPO

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.site.mkdocs_plugin import STATIC_DIR
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.verbs import accounts, comments
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation

pytestmark = pytest.mark.browser

ARTICLE = "therapeutic-impasse"
SECRET = "browser-test-secret-that-is-long-enough-0123456789"
STAFF_USER, STAFF_PASSWORD = "casey", "a long staff password 42"
WAIT_MS = 10_000


@dataclass
class Service:
    url: str
    env: dict[str, str]
    site_dir: Path

    def article_url(self, suffix: str = "") -> str:
        return f"{self.url}/{ARTICLE}/{suffix}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    base = tmp_path_factory.mktemp("browser")
    port = _free_port()
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
    settings = Settings(**{  # type: ignore[arg-type]
        "secret_key": SECRET, "var_dir": base / "var", "docs_dir": REPO / "docs",
        "site_dir": base / "site",
    })
    database = Database(settings)
    upgrade(database)
    accounts.create_staff(database, STAFF_USER, STAFF_PASSWORD, display_name="Casey Moderator",
                      signature="Editor, Open Minds Library")
    database.dispose()

    log = base / "service.log"
    with open(log, "wb") as out:
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


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def nojs_page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def fill_form(page, author: str, body: str, email: str = "reader@example.org") -> None:  # type: ignore[no-untyped-def]
    page.locator("#cs-author").fill(author)
    page.locator("#cs-email").fill(email)
    page.locator("#cs-body").fill(body)
    page.locator("#cs-terms").check()


def test_reader_posts_a_comment_and_is_told_it_awaits_moderation(service, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")

    fill_form(page, "Robin Reader", "This article helped me name what was happening.")
    page.get_by_role("button", name="Post comment").click()

    notice = page.locator("#comment-pending")
    notice.wait_for(state="visible")
    assert "awaiting moderation" in notice.inner_text()
    assert page.evaluate("document.activeElement.id") == "comment-pending"
    page.locator(".cs-status", has_text="awaiting moderation").wait_for()
    # Nothing public yet (only the reader's own copy, marked as waiting), and the reader
    # stayed on the page.
    assert page.url.startswith(service.article_url())
    assert "This article helped me" in page.locator(".cs-thread li.cs-pending").text_content()
    public = " ".join(page.locator(".cs-thread li[data-comment-id]").all_inner_texts())
    assert "This article helped me" not in public
    assert all(r.startswith(service.url) for r in requests), requests


def test_an_error_is_shown_beside_its_field_and_the_text_is_kept(service, page):
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    too_long = "word " * 1100  # over the service's 5,000 characters

    fill_form(page, "Robin Reader", too_long)
    page.get_by_role("button", name="Post comment").click()

    error = page.locator("#cs-body-error")
    error.wait_for()
    assert "5,000" in error.inner_text()
    body = page.locator("#cs-body")
    assert body.get_attribute("aria-invalid") == "true"
    assert "cs-body-error" in body.get_attribute("aria-describedby")
    assert page.evaluate("document.activeElement.id") == "cs-body"
    assert body.input_value() == too_long

    # A field the browser checks first: an empty name, reported next to the name.
    page.locator("#cs-author").fill("")
    page.get_by_role("button", name="Post comment").click()
    page.locator("#cs-author-error").wait_for()
    assert page.evaluate("document.activeElement.id") == "cs-author"


def staff_sign_in(page, service: Service) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{service.url}/staff/sign-in")
    page.locator("#username").fill(STAFF_USER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{service.url}/staff/**")


def staff_approve_and_reply(page, service: Service, author: str, reply: str) -> int:  # type: ignore[no-untyped-def]
    """Approve the pending comment by author in the queue, then reply to it; its id."""
    staff_sign_in(page, service)
    page.goto(f"{service.url}/staff/?status=pending")
    item = page.locator("ol.queue > li", has_text=f"by {author}").first
    heading = item.locator("h3").inner_text()
    comment_id = int(heading.split("#", 1)[1].split()[0])
    item.get_by_role("button", name=f"Approve comment #{comment_id}").click()
    page.wait_for_load_state()
    page.goto(f"{service.url}/staff/comments/{comment_id}")
    page.locator("#reply-body").fill(reply)
    page.get_by_role("button", name="Publish reply").click()
    page.wait_for_load_state()
    return comment_id


def wait_until_baked(service: Service, text: str) -> None:
    """The re-baker has written text into the static page (within seconds of the change)."""
    page_file = service.site_dir / ARTICLE / "index.html"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if text in page_file.read_text(encoding="utf-8"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} was not baked into {page_file} within 10 s")


def assert_thread_has_answered_comment(page, comment_id: int, body: str, reply: str) -> None:  # type: ignore[no-untyped-def]
    comment = page.locator(f"article#comment-{comment_id}")
    assert body in comment.inner_text()
    staff_reply = page.locator(
        f"li[data-comment-id='{comment_id}'] > ol.cs-replies article.cs-staff")
    assert reply in staff_reply.inner_text()
    assert staff_reply.locator(".cs-author").inner_text() == "Casey Moderator"
    assert staff_reply.locator(".cs-badge").inner_text().strip().lower() == "staff"
    assert staff_reply.locator(".cs-signature").inner_text() == "Editor, Open Minds Library"


def test_staff_approve_and_reply_then_the_reader_sees_both(service, page, browser):
    stale = urllib.request.urlopen(service.article_url()).read()  # baked before approval
    comment_id = staff_approve_and_reply(page, service, "Robin Reader",
                                         "Thank you, Robin. We are glad it helped.")
    wait_until_baked(service, "Thank you, Robin.")

    reader = browser.new_context()
    try:
        tab = reader.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.goto(service.article_url())
        assert_thread_has_answered_comment(tab, comment_id, "helped me name",
                                           "Thank you, Robin.")
        assert tab.locator(".cs-count").inner_text() == "2 comments"

        # A page baked before the approval: the script brings the thread up to date.
        tab.route(service.article_url(), lambda route: route.fulfill(
            body=stale, content_type="text/html; charset=utf-8"))
        tab.goto(service.article_url())
        tab.locator(f"article#comment-{comment_id}").wait_for()
        assert_thread_has_answered_comment(tab, comment_id, "helped me name",
                                           "Thank you, Robin.")
        assert tab.locator(".cs-count").inner_text() == "2 comments"
    finally:
        reader.close()


def add_approved_comment(service: Service, author: str, body: str) -> int:
    """A reader's comment approved through the verbs, so a test needs no earlier test."""
    settings = Settings(**{  # type: ignore[arg-type]
        "secret_key": SECRET, "var_dir": Path(service.env["COMMENTS_VAR_DIR"]),
        "docs_dir": REPO / "docs", "site_dir": service.site_dir,
    })
    database = Database(settings)
    try:
        keyring = Keyring(settings.secret())
        catalog = Catalog(settings.docs_dir)
        result = comments.submit(
            database, settings, keyring, catalog, ARTICLE,
            {"author": author, "email": "fixture@example.org", "body": body,
             "accept_terms": True},
            client_ip="192.0.2.77",
        )
        assert result.id is not None
        Moderation(database, keyring, catalog).approve(result.id, Actor.operator("test"))
        return result.id
    finally:
        database.dispose()


def test_reply_link_moves_the_form_under_the_comment(service, page):
    add_approved_comment(service, "Lee", "The part about the client's role rang true.")
    page.goto(service.article_url())
    page.locator("li.cs-item a.cs-reply").first.wait_for()
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    first = page.locator("li.cs-item").first
    first.locator("a.cs-reply").first.click()

    assert first.locator("form.cs-form").count() == 1
    assert page.evaluate("document.activeElement.id") == "cs-body"
    parent = page.locator("form.cs-form input[name=parent_id]").input_value()
    assert parent == first.get_attribute("data-comment-id")

    page.get_by_role("button", name="Cancel reply").click()
    assert page.locator(".cs-form-home form.cs-form").count() == 1
    assert page.locator("form.cs-form input[name=parent_id]").input_value() == ""


def test_a_reply_started_while_the_thread_loads_keeps_its_focus_and_text(service, page):
    held = []
    # The script reads the static thread the bake wrote first (comments-data/).
    page.route("**/comments-data/*.json", lambda route: held.append(route))
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    first = page.locator("li.cs-item").first
    first.locator("a.cs-reply").first.click()
    page.keyboard.type("Thank you for writing")
    assert held, "the thread request was not made"
    # Approved after the page was baked and before the held request reaches the service:
    # the live load then rebuilds the list around the form the reader is typing in.
    add_approved_comment(service, "Sam", "Reading this on a bad day helped.")
    assert "Reading this on a bad day" not in page.locator(".cs-thread").inner_text()
    static_thread = service.site_dir / "comments-data" / f"{ARTICLE}.json"
    deadline = time.monotonic() + WAIT_MS / 1000
    while "Reading this on a bad day" not in static_thread.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the re-bake did not rewrite the static thread"
        time.sleep(0.05)

    held[0].continue_()
    page.locator(".cs-thread", has_text="Reading this on a bad day").wait_for()

    assert first.locator("form.cs-form").count() == 1
    assert page.evaluate("document.activeElement.id") == "cs-body"
    page.keyboard.type(", it helped.")
    assert page.locator("#cs-body").input_value() == "Thank you for writing, it helped."


def test_the_same_flow_without_javascript(service, nojs_page, page):
    reader = nojs_page
    reader.goto(service.article_url())
    # The baked page already carries the approved comment and the staff reply.
    assert "helped me name" in reader.locator(".cs-thread").inner_text()
    assert reader.locator("article.cs-staff .cs-badge").inner_text().strip().lower() == "staff"
    # Reply works without the script too: a link to the service's reply form.
    reply = reader.locator(".cs-reply").first
    assert reply.is_visible()
    assert reply.get_attribute("href").startswith(f"/comments/{ARTICLE}/reply/")

    # An error comes back on the service's form page, beside its field, text kept.
    too_long = "line " * 1100
    fill_form(reader, "Sam Without Script", too_long)
    reader.get_by_role("button", name="Post comment").click()
    reader.wait_for_load_state()
    assert reader.url.startswith(f"{service.url}/comments")
    assert "5,000" in reader.content()
    assert reader.locator("textarea[name=body]").input_value().strip() == too_long.strip()

    # Sent properly: back on the article with the pending message.
    reader.goto(service.article_url())
    body = "Reading this without scripts, and it still works."
    fill_form(reader, "Sam Without Script", body)
    reader.get_by_role("button", name="Post comment").click()
    reader.wait_for_url(f"{service.article_url()}?comment=pending#comment-pending")
    notice = reader.locator("#comment-pending")
    assert notice.is_visible()
    assert "awaiting moderation" in notice.inner_text()

    comment_id = staff_approve_and_reply(page, service, "Sam Without Script",
                                         "Thanks, Sam: noted for our accessibility review.")
    wait_until_baked(service, "accessibility review")

    reader.goto(service.article_url())
    assert_thread_has_answered_comment(reader, comment_id, "without scripts",
                                       "accessibility review")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_article_with_comments_and_form_passes_axe(service, browser, scheme):
    require_axe()
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(service.article_url(), wait_until="networkidle")
        assert page.locator("article.cs-staff").count() >= 1
        # The reply form open under a comment, and an error showing, are checked too.
        page.locator("a.cs-reply").first.click()
        page.get_by_role("button", name="Post comment").click()
        page.locator("#cs-author-error").wait_for()
        violations = axe_violations(page)
    finally:
        context.close()
    assert violations == []


def test_script_starts_on_every_page_and_lists_show_counts(service, page):
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    with urllib.request.urlopen(f"{service.url}/api/counts?article={ARTICLE}") as response:
        approved = json.loads(response.read())[ARTICLE]
    words = "1 comment" if approved == 1 else f"{approved} comments"
    page.goto(f"{service.url}/")
    # The home page's article list gets each article's count from the service.
    count = page.locator(f"li[data-article-id='{ARTICLE}'] .cs-list-count")
    count.wait_for()
    assert count.inner_text() == f"\u00b7 {words}"

    # From the list to the article and back, twice over: the script starts on each page.
    for _ in range(2):
        page.locator(f"li[data-article-id='{ARTICLE}'] h3 a").click()
        page.wait_for_url(service.article_url())
        page.locator(f".cs-count[data-count='{approved}']").wait_for()
        page.get_by_role("link", name="Open Minds Library").first.click()
        page.wait_for_url(f"{service.url}/")
        count.wait_for()

    page.locator(f"li[data-article-id='{ARTICLE}'] h3 a").click()
    page.wait_for_url(service.article_url())
    page.locator(f".cs-count[data-count='{approved}']").wait_for()
    page.get_by_role("button", name="Post comment").click()
    page.locator("#cs-author-error").wait_for()
    assert page.locator(".cs-error").count() == 4  # one handler, not one per visit
    assert posts == []

    page.get_by_role("link", name="Tags").first.click()
    page.wait_for_url(f"{service.url}/tags/")
    tagged = page.locator(f".md-content li:has(a[href$='/{ARTICLE}/']) .cs-list-count").first
    tagged.wait_for()
    assert tagged.inner_text() == f"\u00b7 {words}"


def test_comments_script_stays_small(service):
    import gzip

    script = (service.site_dir / "assets" / "comments" / "comments.js").read_bytes()
    style = (STATIC_DIR / "comments.css").read_bytes()
    # 11 KB for the script, 12.5 KB with the stylesheet (inlined into each article page),
    # since big threads, live updates and pending comments (README, "Page weight").
    assert len(gzip.compress(script, 9)) <= 11 * 1024
    assert len(gzip.compress(script + style, 9)) <= 12_800


@pytest.mark.parametrize(("answer", "expected"), [
    ({"status": 429, "headers": {"Retry-After": "125"},
      "body": '{"detail": "Too many.", "errors": {}}'}, "try again in 3 minutes"),
    ({"status": 403, "body": '{"detail": "Comments are closed on this article.", "errors": {}}'},
     "Comments on this article are closed"),
    ({"status": 500, "body": "oops"}, "problem on our side"),
    (None, "did not answer"),
], ids=["429", "403", "500", "network"])
def test_refusals_and_failures_are_explained_and_nothing_typed_is_lost(
    service, page, answer, expected
):
    def refuse(route):  # type: ignore[no-untyped-def]
        if route.request.method != "POST":
            route.continue_()
        elif answer is None:
            route.abort("connectionrefused")
        else:
            route.fulfill(content_type="application/json", **answer)

    page.route(f"{service.url}/api/articles/{ARTICLE}/comments", refuse)
    page.goto(service.article_url())
    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
    fill_form(page, "Robin Reader", "Words I do not want to lose.")
    page.get_by_role("button", name="Post comment").click()

    status = page.locator(".cs-status")
    status.filter(has_text=expected).wait_for()
    assert page.locator("#cs-body").input_value() == "Words I do not want to lose."
    assert page.locator("#cs-author").input_value() == "Robin Reader"
    assert page.locator("#comment-pending").is_hidden()
    assert page.get_by_role("button", name="Post comment").is_enabled()
