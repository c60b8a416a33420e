"""Security headers on every response the service sends: the fast path, the routes, staff,
form and mail pages, and the development site, whose pages must still work in Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import launched_chromium
from fastapi.testclient import TestClient
from service_support import (
    OPEN,
    Server,
    app_client,
    payload,
    post,
    post_approved,
    with_docs,
)
from site_support import real_site
from staff_support import PASSWORD, AuthActions, fast_hashing, make_staff  # noqa: F401

from comments_service.config import Settings
from comments_service.verbs import notifications
from comments_service.web.site_csp import page_csp

PROXY = "127.0.0.1"


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(settings, tmp_path, trusted_proxies=[PROXY])) as client:
        yield client


def every_kind_of_response(client: TestClient) -> dict[str, httpx.Response]:
    """One answer from each part of the service, by what it is."""
    post_approved(client)
    unsubscribe = notifications.make_token(client.app.state.keyring, "unsubscribe", "a" * 64)  # type: ignore[attr-defined]
    return {
        "fast thread": client.get(f"/api/articles/{OPEN}/comments"),
        "fast counts": client.get(f"/api/counts?article={OPEN}"),
        "fast post": post(client, body="Another thought about the article."),
        "routed 422": client.post(f"/api/articles/{OPEN}/comments", json={"author": 1}),
        "routed 404": client.get("/api/nothing-here"),
        "health": client.get("/healthz"),
        "openapi": client.get("/openapi.json"),
        "staff sign-in": client.get("/staff/sign-in"),
        "staff redirect": client.get("/staff/", follow_redirects=False),
        "staff css": client.get("/staff/staff.css"),
        "form page": client.post("/comments", data={"article_id": OPEN, "author": "",
                                                    "email": "x", "body": ""}),
        "mail page": client.get(f"/mail/unsubscribe?token={unsubscribe}"),
    }


def test_every_response_says_nosniff_and_sets_a_referrer_policy(client: TestClient) -> None:
    for what, response in every_kind_of_response(client).items():
        assert response.headers["x-content-type-options"] == "nosniff", what
        assert response.headers["referrer-policy"], what


def test_json_is_application_json_and_html_says_utf_8(client: TestClient) -> None:
    responses = every_kind_of_response(client)
    for what in ("fast thread", "fast counts", "fast post", "routed 422", "health", "openapi"):
        # RFC 8259 defines no charset parameter: JSON is UTF-8 by definition.
        assert responses[what].headers["content-type"] == "application/json", what
    for what in ("staff sign-in", "form page", "mail page"):
        assert responses[what].headers["content-type"] == "text/html; charset=utf-8", what


def test_every_html_page_has_a_policy_that_forbids_framing(client: TestClient) -> None:
    for what, response in every_kind_of_response(client).items():
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, what
        assert "'unsafe-inline'" not in policy and "script-src *" not in policy, what
        assert response.headers["x-frame-options"] == "DENY", what


def test_the_form_page_allows_only_the_reader_stylesheet(client: TestClient) -> None:
    response = client.post("/comments", data={"article_id": OPEN, "author": "", "email": "x",
                                              "body": ""})
    assert response.status_code == 422
    policy = response.headers["content-security-policy"]
    # Its look comes from /comments/static/reader.css (same origin); an inline style would
    # need its hash, and none is there.
    assert "style-src 'self';" in policy and "form-action 'self'" in policy
    assert "'unsafe-inline'" not in policy and "<style" not in response.text
    assert "script-src" not in policy  # default-src 'none' covers scripts: the page has none


def test_staff_answers_are_never_stored_by_caches(client: TestClient,
                                                   settings: Settings) -> None:
    make_staff(client.app.state.database, "mod", role="admin")  # type: ignore[attr-defined]
    client.follow_redirects = False
    auth = AuthActions(client)
    assert auth.sign_in("mod", PASSWORD).status_code == 303
    for path in ("/staff/", "/staff/audit", "/staff/mail", "/staff/staff.css",
                 "/staff/sign-in"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    # Public reads stay cacheable.
    thread = client.get(f"/api/articles/{OPEN}/comments")
    assert thread.headers["cache-control"].startswith("public")


def test_hsts_only_over_https(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    plain = client.get(f"/api/articles/{OPEN}/comments")
    assert "strict-transport-security" not in plain.headers
    proxied = client.get(f"/api/articles/{OPEN}/comments",
                         headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in proxied.headers  # the peer is not a proxy

    # Trusted by network, as COMMENTS_TRUSTED_PROXIES allows.
    with app_client(with_docs(settings, tmp_path, trusted_proxies=["127.0.0.0/8"]),
                    client_ip=PROXY) as behind_proxy:
        for path in (f"/api/articles/{OPEN}/comments", "/staff/sign-in", "/healthz"):
            response = behind_proxy.get(path, headers={"X-Forwarded-Proto": "https"})
            assert response.headers["strict-transport-security"].startswith("max-age="), path
        assert "strict-transport-security" not in behind_proxy.get("/healthz").headers

    https = with_docs(settings, tmp_path, service_url="https://comments.example.org")
    with app_client(https) as client_https:
        response = client_https.post(f"/api/articles/{OPEN}/comments", json=payload())
        assert response.status_code == 202
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_security_header_a_response_sets_itself_is_kept(client: TestClient) -> None:
    page = client.get("/staff/sign-in")
    # The staff pages' own stricter referrer policy, not the service's default.
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers.get_list("content-security-policy") == [
        page.headers["content-security-policy"]]


def test_a_site_page_policy_lists_the_hash_of_each_inline_script_and_style() -> None:
    html = ("<script>var a=1</script><script src='x.js'></script>"
            "<script type=\"application/json\">{}</script><style>p{color:red}</style>")
    policy = page_csp(html)
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    style_src = next(p for p in policy.split("; ") if p.startswith("style-src"))
    assert script_src.count("'sha256-") == 1  # the JSON block never runs, x.js is 'self'
    assert style_src.count("'sha256-") == 1
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


# The development site, in Chromium ----------------------------------------------------


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    return result.site_dir


@pytest.mark.browser
def test_the_development_site_works_under_its_policy(settings: Settings, tmp_path: Path,
                                                     dev_site: Path) -> None:
    site_dir = tmp_path / "site"
    shutil.copytree(dev_site, site_dir)
    settings = settings.model_copy(update={"site_dir": site_dir})
    server = Server(settings, COMMENTS_SERVE_SITE="true")
    try:
        article = httpx.get(f"{server.url}/therapeutic-impasse/", timeout=10)
        policy = article.headers["content-security-policy"]
        assert "'sha256-" in policy and "'unsafe-inline'" not in policy
        assert article.headers["x-content-type-options"] == "nosniff"
        with launched_chromium() as chromium:
            context = chromium.new_context()
            context.set_default_timeout(10_000)
            # Recorded from the first script on, before any of the page's own.
            context.add_init_script(
                "window.__cspViolations = [];"
                "document.addEventListener('securitypolicyviolation', e => "
                "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            for path in ("", "therapeutic-impasse/"):
                page.goto(f"{server.url}/{path}", wait_until="networkidle")
                if path:
                    # comments.js ran, fetched the thread and marked the section ready.
                    page.locator(".cs-comments[data-ready]").wait_for(state="attached")
                # Material's bundle ran: search opens and finds an article (a worker).
                page.keyboard.press("/")
                page.keyboard.type("supervisor")
                page.locator(".md-search-result__item").first.wait_for()
                assert page.evaluate("window.__cspViolations") == [], path
            context.close()
        assert not [line for line in console if "Content Security Policy" in line], console
    finally:
        server.stop()
