"""Reading threads and counts through the public JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from service_support import (
    CLOSED,
    HIDDEN,
    OPEN,
    OTHER,
    add_staff_reply,
    app_client,
    approve,
    post,
    post_approved,
    set_status,
    with_docs,
)
from sqlalchemy import text

from comments_service.config import Settings
from comments_service.store import thread_versions
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs import render
from comments_service.verbs.thread_cache import ThreadCache
from comments_service.web.fastpath import article_params

PUBLIC_KEYS = {"id", "parent_id", "author", "body_html", "created_at", "staff", "signature",
               "content_note"}


@pytest.fixture
def client(backend_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(backend_settings, tmp_path)) as test_client:
        yield test_client


def thread(client: TestClient, article_id: str = OPEN) -> dict:
    response = client.get(f"/api/articles/{article_id}/comments")
    assert response.status_code == 200, response.text
    return response.json()


def test_thread_lists_only_approved_comments_oldest_first(client: TestClient) -> None:
    first = post_approved(client, body="First approved comment.")
    post(client, body="Still pending, never shown.")
    rejected = post(client, body="Rejected one.").json()["id"]
    set_status(client.app.state.database, rejected, CommentStatus.REJECTED)
    second = post_approved(client, body="Second approved comment.")

    data = thread(client)

    assert data["article_id"] == OPEN
    assert data["count"] == 2
    assert [c["id"] for c in data["comments"]] == [first, second]


def test_public_comment_has_exactly_the_contract_fields(client: TestClient) -> None:
    post_approved(client, author="Zoë Q", body="Hello\n\nSecond paragraph https://example.org/x")

    (comment,) = thread(client)["comments"]

    assert set(comment) == PUBLIC_KEYS
    assert comment["author"] == "Zoë Q"
    assert comment["parent_id"] is None
    assert comment["staff"] is False
    assert comment["signature"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", comment["created_at"])
    assert comment["body_html"] == (
        '<p>Hello</p><p>Second paragraph <a href="https://example.org/x" '
        'rel="nofollow ugc noopener">https://example.org/x</a></p>'
    )


def test_thread_never_contains_email_ip_hash_or_status(client: TestClient) -> None:
    comment_id = post_approved(client, email="private.person@example.org")
    with client.app.state.database.read() as session:
        stored = session.get(Comment, comment_id)
        ip_hash, email_hash = stored.ip_hash, stored.email_hash

    text = client.get(f"/api/articles/{OPEN}/comments").text

    for secret in ("private.person", "example.org\"", ip_hash, email_hash, "approved", "status"):
        assert secret not in text


def test_thread_sends_etag_and_answers_304_when_it_matches(client: TestClient) -> None:
    post_approved(client)
    first = client.get(f"/api/articles/{OPEN}/comments")
    etag = first.headers["etag"]

    again = client.get(f"/api/articles/{OPEN}/comments", headers={"If-None-Match": etag})
    weak = client.get(f"/api/articles/{OPEN}/comments", headers={"If-None-Match": f"W/{etag}"})
    other = client.get(f"/api/articles/{OPEN}/comments", headers={"If-None-Match": '"nope"'})

    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert weak.status_code == 304
    assert other.status_code == 200


def test_thread_has_short_public_cache_control(client: TestClient) -> None:
    response = client.get(f"/api/articles/{OPEN}/comments")
    assert response.headers["cache-control"] == "public, max-age=10"
    assert response.headers["content-type"] == "application/json"


def test_approval_changes_etag_and_next_read_shows_the_comment(client: TestClient) -> None:
    before = client.get(f"/api/articles/{OPEN}/comments")
    comment_id = post(client).json()["id"]
    # A pending comment changes nothing public: same body, same ETag.
    assert client.get(f"/api/articles/{OPEN}/comments").headers["etag"] == before.headers["etag"]

    approve(client.app.state.database, comment_id)
    after = client.get(f"/api/articles/{OPEN}/comments",
                       headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert [c["id"] for c in after.json()["comments"]] == [comment_id]


def test_rejecting_an_approved_comment_removes_it_from_the_next_read(client: TestClient) -> None:
    comment_id = post_approved(client)
    assert thread(client)["count"] == 1

    set_status(client.app.state.database, comment_id, CommentStatus.DELETED)

    assert thread(client) == {"article_id": OPEN, "count": 0, "comments": []}


def test_reads_serve_stored_html_without_rendering(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_approved(client, body="Rendered once, at write time.")

    def refuse(text: str) -> str:
        raise AssertionError("render_comment called on read")

    monkeypatch.setattr(render, "render_comment", refuse)
    monkeypatch.setattr("comments_service.verbs.comments.render_comment", refuse)
    client.app.state.thread_cache._threads.clear()

    assert thread(client)["comments"][0]["body_html"] == "<p>Rendered once, at write time.</p>"


def test_unknown_article_is_404(client: TestClient) -> None:
    response = client.get("/api/articles/no-such-article/comments")
    assert response.status_code == 404
    assert "no-such-article" in response.json()["detail"]


def test_hidden_article_thread_is_403(client: TestClient) -> None:
    response = client.get(f"/api/articles/{HIDDEN}/comments")
    assert response.status_code == 403
    assert response.json()["errors"] == {}


def test_closed_article_still_shows_its_approved_comments(client: TestClient) -> None:
    # Closed articles take no posts, so the comment is stored as it was before closing.
    with client.app.state.database.write() as session:
        session.add(Comment(article_id=CLOSED, author_name="Earlier Reader", body="Old",
                            body_html="<p>Old</p>", status=CommentStatus.APPROVED))
        thread_versions.touch_thread(session, CLOSED)

    data = thread(client, CLOSED)

    assert [c["author"] for c in data["comments"]] == ["Earlier Reader"]


def test_staff_reply_shows_display_name_signature_and_staff_flag(client: TestClient) -> None:
    parent = post_approved(client)
    reply = add_staff_reply(client.app.state.database, OPEN, parent, "<p>Thank you.</p>")

    comments = thread(client)["comments"]

    assert comments[1] == {
        "id": reply, "parent_id": parent, "author": "Dr. Mira Example",
        "body_html": "<p>Thank you.</p>", "created_at": comments[1]["created_at"],
        "staff": True, "signature": "Clinical editor", "content_note": None,
    }


def test_erased_author_shows_as_former_reader(client: TestClient) -> None:
    comment_id = post_approved(client, author="Real Name")
    with client.app.state.database.write() as session:
        stored = session.get(Comment, comment_id)
        stored.erased = True
        thread_versions.touch_thread(session, OPEN)

    assert thread(client)["comments"][0]["author"] == "Former reader"


def test_reply_to_a_removed_comment_moves_up_to_a_public_ancestor(client: TestClient) -> None:
    top = post_approved(client, body="Top level.")
    middle = post_approved(client, body="Middle reply.", parent_id=top)
    leaf = post_approved(client, body="Leaf reply.", parent_id=middle)

    set_status(client.app.state.database, middle, CommentStatus.DELETED)

    by_id = {c["id"]: c for c in thread(client)["comments"]}
    assert set(by_id) == {top, leaf}
    assert by_id[leaf]["parent_id"] == top


def test_counts_give_approved_counts_and_leave_out_unknown_and_hidden(
    client: TestClient,
) -> None:
    post_approved(client, OPEN, body="one")
    post_approved(client, OPEN, body="two")
    post(client, OPEN, body="pending does not count")

    response = client.get("/api/counts", params=[("article", OPEN), ("article", OTHER),
                                                 ("article", HIDDEN), ("article", "nope")])

    assert response.status_code == 200
    assert response.json() == {OPEN: 2, OTHER: 0}
    assert response.headers["cache-control"] == "public, max-age=10"


def test_counts_follow_approvals(client: TestClient) -> None:
    assert client.get("/api/counts", params={"article": OPEN}).json() == {OPEN: 0}
    post_approved(client)
    assert client.get("/api/counts", params={"article": OPEN}).json() == {OPEN: 1}


def test_counts_refuse_more_than_100_articles(client: TestClient) -> None:
    response = client.get("/api/counts", params=[("article", f"a{i}") for i in range(101)])
    assert response.status_code == 422
    assert "article" in response.json()["errors"]


def test_cors_allows_the_site_origin_and_configured_origins(
    backend_settings: Settings, tmp_path: Path
) -> None:
    settings = with_docs(backend_settings, tmp_path, site_url="https://articles.example/",
                         allowed_origins=["https://preview.example"])
    with app_client(settings) as client:
        def allowed(origin: str) -> str | None:
            return client.get(f"/api/articles/{OPEN}/comments",
                              headers={"Origin": origin}).headers.get(
                                  "access-control-allow-origin")

        assert allowed("https://articles.example") == "https://articles.example"
        assert allowed("https://preview.example") == "https://preview.example"
        assert allowed("https://evil.example") is None
        preflight = client.options(
            f"/api/articles/{OPEN}/comments",
            headers={"Origin": "https://articles.example", "Access-Control-Request-Method":
                     "POST", "Access-Control-Request-Headers": "content-type"},
        )
        assert preflight.status_code == 200


def test_healthz_reports_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_healthz_reports_a_broken_database(backend_settings: Settings, tmp_path: Path) -> None:
    with app_client(with_docs(backend_settings, tmp_path)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        # The comments table gone, as after a botched restore. (Overwriting the SQLite file
        # instead is not seen by a connection that still holds the old WAL open.)
        with client.app.state.database.write() as session:
            session.execute(text("ALTER TABLE comments RENAME TO comments_elsewhere"))

        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_openapi_describes_the_public_routes_and_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    paths = spec["paths"]
    assert set(paths["/api/articles/{article_id}/comments"]) == {"get", "post"}
    assert "/api/counts" in paths and "/comments" in paths and "/healthz" in paths
    post_op = paths["/api/articles/{article_id}/comments"]["post"]
    assert {"202", "403", "404", "409", "413", "422", "429"} <= set(post_op["responses"])
    schema = spec["components"]["schemas"]["CommentIn"]
    assert set(schema["properties"]) == {"author", "email", "body", "parent_id", "notify",
                                         "accept_terms", "website"}
    assert set(schema["required"]) == {"author", "email", "body", "accept_terms"}
    thread_schema = spec["components"]["schemas"]["PublicComment"]
    assert set(thread_schema["properties"]) == PUBLIC_KEYS
    form = paths["/comments"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form


def test_articles_are_reloaded_when_docs_change(client: TestClient) -> None:
    docs = client.app.state.settings.docs_dir
    path = docs / f"{OPEN}.md"
    assert post(client, body="Before closing.").status_code == 202

    path.write_text(path.read_text().replace("comments: open", "comments: closed"))
    (docs / "new-article.md").write_text(
        path.read_text().replace(f"id: {OPEN}", "id: brand-new").replace(
            "comments: closed", "comments: open"))
    # The catalog re-reads docs/ in the background about once a second.
    deadline = time.monotonic() + 10
    while client.app.state.catalog.get("brand-new") is None and time.monotonic() < deadline:
        time.sleep(0.1)

    assert post(client, body="After closing.").status_code == 403
    assert post(client, "brand-new", body="On the new article.").status_code == 202


def test_fast_read_path_answers_exactly_as_the_routes(client: TestClient) -> None:
    post_approved(client, body="Served either way.")
    etag = client.get(f"/api/articles/{OPEN}/comments").headers["etag"]
    site = {"Origin": "http://testserver"}
    requests = [
        (f"/api/articles/{OPEN}/comments", {}),
        (f"/api/articles/{OPEN}/comments", site),
        (f"/api/articles/{OPEN}/comments", {"Origin": "https://evil.example"}),
        (f"/api/articles/{OPEN}/comments", {"If-None-Match": etag, **site}),
        (f"/api/articles/{HIDDEN}/comments", {}),
        ("/api/articles/no-such-article/comments", {}),
        (f"/api/counts?article={OPEN}&article={HIDDEN}&article=nope", site),
        ("/api/counts?" + "&".join(f"article=a{i}" for i in range(101)), {}),
        ("/api/counts", {}),
    ]
    compared = ("etag", "cache-control", "content-type", "content-length", "vary",
                "access-control-allow-origin", "access-control-expose-headers")

    def answers() -> list[tuple]:
        out = []
        for url, headers in requests:
            response = client.get(url, headers=headers)
            out.append((url, response.status_code, response.content,
                        {name: response.headers.get(name) for name in compared}))
        return out

    fast = answers()
    client.app.fast_path = None
    routed = answers()

    assert fast == routed


def test_thread_cache_keeps_to_its_byte_budget_and_stays_correct(database: Database) -> None:
    articles = [f"article-{n}" for n in range(6)]
    with database.write() as session:
        for article_id in articles:
            session.add(Comment(article_id=article_id, author_name="A", body="x",
                                body_html="<p>" + "x" * 400 + "</p>",
                                status=CommentStatus.APPROVED))
            thread_versions.touch_thread(session, article_id)
    cache = ThreadCache(database, max_bytes=1500)
    try:
        first = {article_id: cache.thread(article_id).body for article_id in articles}

        assert cache._bytes <= 1500
        assert len(cache._threads) < len(articles)
        # Evicted or not, every thread reads back the same.
        assert {article_id: cache.thread(article_id).body for article_id in articles} == first
        assert cache.counts(articles) == dict.fromkeys(articles, 1)
    finally:
        cache.close()


@pytest.mark.parametrize("query", [
    "article=a&article=b", "", "article=", "article", "x=1&article=a%20b&article=c+d",
    "articl%65=z&article=%2F", "&&article=a&", "article=a=b", "Article=a", "article=%C3%A9",
])
def test_counts_query_is_read_as_parse_qsl_reads_it(query: str) -> None:
    expected = [value for name, value in parse_qsl(query, keep_blank_values=True)
                if name == "article"]
    assert article_params(query) == expected


def test_cached_versions_follow_a_commit_from_another_connection(
    settings: Settings, database: Database
) -> None:
    # Another Database on the same file stands in for another service process.
    with database.write() as session:
        session.add(Comment(article_id="shared", author_name="A", body="x",
                            body_html="<p>x</p>", status=CommentStatus.APPROVED))
        thread_versions.touch_thread(session, "shared")
    cache = ThreadCache(database)
    other = Database(settings)
    try:
        assert cache.counts(["shared", "quiet"]) == {"shared": 1, "quiet": 0}
        before = cache.thread("shared").etag
        assert cache.thread("shared").etag == before  # served from what it remembers

        with other.write() as session:
            session.add(Comment(article_id="shared", author_name="B", body="y",
                                body_html="<p>y</p>", status=CommentStatus.APPROVED))
            thread_versions.touch_thread(session, "shared")

        assert cache.counts(["shared", "quiet"]) == {"shared": 2, "quiet": 0}
        assert cache.thread("shared").etag != before
        assert cache.thread("shared").count == 2
    finally:
        cache.close()
        other.dispose()
