"""Atom feeds of approved comments: per article and for the whole site, valid and cached."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import (
    CLOSED,
    HIDDEN,
    OPEN,
    OTHER,
    add_staff_reply,
    app_client,
    post,
    post_approved,
    with_docs,
)
from site_support import page_path, real_site, soup

from comments_service.config import Settings
from comments_service.verbs.audit import Actor
from comments_service.verbs.moderation import Moderation

A = "{http://www.w3.org/2005/Atom}"
EMAIL = "ada.reader@example.org"


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(settings, tmp_path)) as test_client:
        yield test_client


def parse_atom(body: bytes) -> ET.Element:
    """Parse and check what RFC 4287 requires of a feed and of each entry."""
    feed = ET.fromstring(body)  # noqa: S314 (our own service's answer, in a test)
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1, f"feed needs one atom:{name}"
    assert feed.find(f"{A}link[@rel='self']") is not None
    feed_author = feed.find(f"{A}author/{A}name") is not None
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, f"entry needs one atom:{name}"
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
        # Atom dates are RFC 3339.
        datetime.fromisoformat(entry.findtext(f"{A}updated").replace("Z", "+00:00"))
        has_link = entry.find(f"{A}link[@rel='alternate']") is not None
        assert has_link or entry.find(f"{A}content") is not None
    datetime.fromisoformat(feed.findtext(f"{A}updated").replace("Z", "+00:00"))
    return feed


def titles(feed: ET.Element) -> list[str]:
    return [entry.findtext(f"{A}title") for entry in feed.findall(f"{A}entry")]


def test_an_article_feed_lists_its_approved_comments_newest_first(client: TestClient) -> None:
    first = post_approved(client, body="The first published comment.")
    second = post_approved(client, author="Noor Reader", body="The second published comment.")
    post(client, body="Still waiting for moderation.")  # pending: not in the feed
    database = client.app.state.database
    add_staff_reply(database, OPEN, second, "<p>Thank you for writing.</p>")

    response = client.get(f"/api/articles/{OPEN}/comments.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = parse_atom(response.content)
    assert feed.findtext(f"{A}title") == "Comments on Open Article"
    assert titles(feed) == [
        "Staff reply by Dr. Mira Example on Open Article",
        "Comment by Noor Reader on Open Article",
        "Comment by Ada Reader on Open Article",
    ]
    staff, noor, ada = feed.findall(f"{A}entry")
    assert staff.find(f"{A}category").get("term") == "staff"
    assert noor.find(f"{A}category") is None
    assert "Clinical editor" in staff.findtext(f"{A}content")
    assert ada.find(f"{A}link").get("href") == f"http://testserver/open-article/#comment-{first}"
    assert "The first published comment." in ada.findtext(f"{A}content")
    assert b"Still waiting" not in response.content
    assert EMAIL.encode() not in response.content and b"198.51.100" not in response.content


def test_the_feed_is_cached_until_the_thread_changes(client: TestClient) -> None:
    post_approved(client, body="Published before the feed was read.")
    url = f"/api/articles/{OPEN}/comments.atom"
    first = client.get(url)
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    post_approved(client, body="Published after the feed was read.")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert b"Published after the feed was read." in changed.content


def test_a_comment_with_a_content_note_shows_the_note_not_the_text(client: TestClient) -> None:
    comment_id = post_approved(client, body="A hard story about my worst week.")
    state = client.app.state
    Moderation(state.database, state.keyring, state.catalog).set_content_note(
        comment_id, "mentions self-harm", Actor.operator("test"))
    feed = parse_atom(client.get(f"/api/articles/{OPEN}/comments.atom").content)
    [entry] = feed.findall(f"{A}entry")
    assert entry.find(f"{A}content") is None
    assert entry.findtext(f"{A}summary").startswith("Content note: mentions self-harm.")


def test_unknown_and_hidden_articles_have_no_feed(client: TestClient) -> None:
    assert client.get("/api/articles/no-such-article/comments.atom").status_code == 404
    assert client.get(f"/api/articles/{HIDDEN}/comments.atom").status_code == 403
    # A closed article keeps its comments, and so its feed.
    assert parse_atom(client.get(f"/api/articles/{CLOSED}/comments.atom").content) is not None


def test_the_site_feed_has_the_newest_comments_of_every_shown_article(
    client: TestClient,
) -> None:
    post_approved(client, OPEN, body="On the open article.")
    post_approved(client, OTHER, author="Noor Reader", body="On the other article.")
    empty = parse_atom(client.get("/api/comments.atom").content)
    assert titles(empty) == ["Comment by Noor Reader on Other Article",
                             "Comment by Ada Reader on Open Article"]
    etag = client.get("/api/comments.atom").headers["etag"]
    assert client.get("/api/comments.atom", headers={"If-None-Match": etag}).status_code == 304

    post_approved(client, OPEN, author="Sam Reader", body="A newer one.")
    feed = parse_atom(client.get("/api/comments.atom").content)
    assert titles(feed)[0] == "Comment by Sam Reader on Open Article"


def test_an_empty_feed_is_still_valid_atom(client: TestClient) -> None:
    feed = parse_atom(client.get(f"/api/articles/{OPEN}/comments.atom").content)
    assert titles(feed) == []
    assert feed.findtext(f"{A}updated") == "2026-11-01T00:00:00Z"
    assert titles(parse_atom(client.get("/api/comments.atom").content)) == []


def test_pages_link_their_feeds_in_the_head(tmp_path_factory: pytest.TempPathFactory) -> None:
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    page = soup(page_path(result.site_dir, "therapeutic-impasse/"))
    links = {link["href"]: link["title"] for link in
             page.select("head link[rel=alternate][type='application/atom+xml']")}
    assert links == {"/api/comments.atom": "Newest comments",
                     "/api/articles/therapeutic-impasse/comments.atom":
                         "Comments on Therapeutic Impasse"}
    home = soup(page_path(result.site_dir, ""))
    assert [link["href"] for link in home.select("head link[type='application/atom+xml']")] \
        == ["/api/comments.atom"]
