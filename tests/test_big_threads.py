"""Big threads over HTTP: API pages by cursor, the baked first page, the no-JavaScript pages.

A thread is paged by top-level comment: a page carries each top-level comment with all its
replies. The uncursored API answer stays the whole thread, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from service_support import CLOSED, HIDDEN, OPEN, app_client, set_status, with_docs
from thread_support import seed_thread

from comments_service.config import Settings
from comments_service.site.bake import bake_site
from comments_service.store.models import Comment, CommentStatus

THREAD = f"/api/articles/{OPEN}/comments"


@pytest.fixture
def client(backend_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(with_docs(backend_settings, tmp_path, page_size=10)) as test_client:
        yield test_client


def get(client: TestClient, query: str = "") -> dict:
    response = client.get(f"{THREAD}{query}")
    assert response.status_code == 200, response.text
    return response.json()


def every_page(client: TestClient, order: str) -> list[list[dict]]:
    pages = [get(client, f"?order={order}")]
    while pages[-1]["next_cursor"] and len(pages) < 50:
        pages.append(get(client, f"?order={order}&cursor={pages[-1]['next_cursor']}"))
    return pages


def test_the_uncursored_answer_is_still_the_whole_thread(client: TestClient) -> None:
    seed_thread(client.app.state.database, OPEN, roots=25, replies=1)
    data = get(client)
    assert set(data) == {"article_id", "count", "comments"}
    assert data["count"] == len(data["comments"]) == 50


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_pages_follow_the_cursor_to_the_end_keeping_reply_chains_together(
        client: TestClient, order: str) -> None:
    chains = seed_thread(client.app.state.database, OPEN, roots=25, replies=2)
    pages = every_page(client, order)

    assert [len(page["comments"]) for page in pages] == [30, 30, 15]
    assert pages[-1]["next_cursor"] is None
    assert all(page["count"] == 75 for page in pages)
    seen = [c["id"] for page in pages for c in page["comments"]]
    assert sorted(seen) == sorted(i for chain in chains for i in chain)
    for page in pages:
        ids = {c["id"] for c in page["comments"]}
        for chain in chains:
            assert set(chain) <= ids or not set(chain) & ids, "a reply chain was split"
    first_root = pages[0]["comments"][0]["id"]
    assert first_root == (chains[0][0] if order == "oldest" else chains[-1][0])


def test_a_comment_removed_between_pages_moves_no_other_comment_off_the_pages(
        client: TestClient) -> None:
    database = client.app.state.database
    chains = seed_thread(database, OPEN, roots=25)
    first = get(client, "?order=oldest")
    set_status(database, chains[3][0], CommentStatus.REJECTED)
    second = get(client, f"?order=oldest&cursor={first['next_cursor']}")
    assert second["comments"][0]["id"] == chains[10][0]


def test_around_answers_the_pages_up_to_the_one_holding_the_comment(client: TestClient) -> None:
    chains = seed_thread(client.app.state.database, OPEN, roots=35, replies=1)
    reply_on_page_three = chains[22][1]
    data = get(client, f"?order=oldest&around={reply_on_page_three}")

    ids = [c["id"] for c in data["comments"]]
    assert reply_on_page_three in ids
    assert len(ids) == 30 * 2
    rest = get(client, f"?order=oldest&cursor={data['next_cursor']}")
    assert rest["comments"][0]["id"] == chains[30][0]


def test_the_first_page_revalidates_with_its_etag(client: TestClient) -> None:
    seed_thread(client.app.state.database, OPEN, roots=15)
    first = client.get(f"{THREAD}?order=newest")
    again = client.get(f"{THREAD}?order=newest", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert first.headers["etag"] != client.get(THREAD).headers["etag"]


@pytest.mark.parametrize(("query", "field"), [
    ("?order=sideways", "order"), ("?limit=0", "limit"), ("?limit=ten", "limit"),
    ("?limit=1001", "limit"), ("?cursor=not-ours", "cursor"), ("?around=-3", "around"),
    ("?cursor=20261101T090000Z.1&around=4", "around"),
])
def test_bad_paging_parameters_are_refused_naming_the_field(
        client: TestClient, query: str, field: str) -> None:
    response = client.get(f"{THREAD}{query}")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_around_a_comment_not_published_here_is_a_404_naming_it(client: TestClient) -> None:
    seed_thread(client.app.state.database, OPEN, roots=3)
    response = client.get(f"{THREAD}?around=999999")
    assert response.status_code == 404
    assert "around" in response.json()["errors"]


# The baked page and the no-JavaScript pages ---------------------------------------------

SECTION = """<html><body>
<section class="cs-comments" id="comments" data-article-id="{id}" data-state="{state}"
         data-service="" data-order="{order}">
<!-- comments:begin article="{id}" --><!-- comments:end article="{id}" -->
</section></body></html>"""


def baked(settings: Settings, client: TestClient, order: str, article_id: str = OPEN,
          state: str = "open") -> BeautifulSoup:
    page = settings.site_dir / article_id / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(SECTION.format(id=article_id, state=state, order=order), encoding="utf-8")
    bake_site(client.app.state.database, settings.site_dir, article_id)
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture
def site_client(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, TestClient]]:
    paged = with_docs(settings, tmp_path, page_size=10)
    with app_client(paged) as test_client:
        yield paged, test_client


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_the_baked_page_carries_the_first_page_and_a_link_to_the_rest(
        site_client: tuple[Settings, TestClient], order: str) -> None:
    settings, client = site_client
    chains = seed_thread(client.app.state.database, OPEN, roots=12, replies=1)
    soup = baked(settings, client, order)

    roots = soup.select(".cs-thread > ol.cs-list > li")
    assert len(roots) == 10
    expected = chains[0][0] if order == "oldest" else chains[-1][0]
    assert roots[0]["data-comment-id"] == str(expected)
    assert soup.select_one(".cs-count").get_text() == "24 comments"
    more = soup.select_one(".cs-more a")
    assert more["href"] == f"/comments/{OPEN}?order={order}&page=2"
    reply = soup.select_one(f"#comment-{chains[-1][1] if order == 'newest' else chains[0][1]}"
                            " .cs-reply")
    assert reply.find_parent("p").get("hidden") is None
    assert reply["href"].startswith(f"/comments/{OPEN}/reply/")

    second = BeautifulSoup(client.get(more["href"]).text, "html.parser")
    shown = [a["id"] for a in second.select("article")]
    rest = chains[10:] if order == "oldest" else chains[:2][::-1]
    assert shown == [f"comment-{i}" for chain in rest for i in chain]


def test_a_closed_article_bakes_no_reply_links(site_client: tuple[Settings, TestClient]) -> None:
    settings, client = site_client
    seed_thread(client.app.state.database, CLOSED, roots=2)
    soup = baked(settings, client, "oldest", CLOSED, "closed")
    assert all(p.has_attr("hidden") for p in soup.select(".cs-actions"))
    assert soup.select_one(".cs-more") is None


def test_a_link_to_any_comment_reaches_its_page_without_javascript(
        client: TestClient) -> None:
    chains = seed_thread(client.app.state.database, OPEN, roots=25, replies=1)
    wanted = chains[21][1]
    jump = client.get(f"/comments/{OPEN}?comment={wanted}", follow_redirects=False)
    assert jump.status_code == 303
    assert jump.headers["location"] == f"/comments/{OPEN}?order=oldest&page=3#comment-{wanted}"
    page = BeautifulSoup(client.get(jump.headers["location"]).text, "html.parser")
    assert page.find(id=f"comment-{wanted}") is not None
    assert page.select_one('a[rel="prev"]')["href"] == f"/comments/{OPEN}?order=oldest&page=2"
    assert page.select_one('a[rel="next"]') is None


@pytest.mark.parametrize(("url", "status"), [
    (f"/comments/{OPEN}?page=4", 404), (f"/comments/{OPEN}?page=0", 422),
    (f"/comments/{OPEN}?order=random", 422), ("/comments/no-such-article", 404),
    (f"/comments/{HIDDEN}", 404), (f"/comments/{OPEN}?comment=999999", 404),
])
def test_pages_that_do_not_exist_say_so(client: TestClient, url: str, status: int) -> None:
    seed_thread(client.app.state.database, OPEN, roots=25)
    response = client.get(url)
    assert response.status_code == status
    assert BeautifulSoup(response.text, "html.parser").h1.get_text()


def test_a_reader_without_javascript_replies_to_one_comment(client: TestClient) -> None:
    chains = seed_thread(client.app.state.database, OPEN, roots=3)
    form_page = client.get(f"/comments/{OPEN}/reply/{chains[1][0]}")
    assert form_page.status_code == 200
    soup = BeautifulSoup(form_page.text, "html.parser")
    assert "Reader 1" in soup.select_one("#replying-to").get_text()
    assert soup.find("input", attrs={"name": "parent_id"})["value"] == str(chains[1][0])
    assert soup.find(id="field-notify") is None, "no mail is offered without SMTP"

    fields = {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}
    sent = client.post("/comments", data={
        **fields, "author": "Sam Reader", "email": "sam@example.org",
        "body": "Thank you, that was my experience too.", "accept_terms": "yes",
    }, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("#comment-pending")
    with client.app.state.database.read() as session:
        stored = session.query(Comment).filter_by(author_name="Sam Reader").one()
        assert stored.parent_id == chains[1][0]


def test_the_reply_form_of_a_comment_not_published_is_a_404(client: TestClient) -> None:
    assert client.get(f"/comments/{OPEN}/reply/424242").status_code == 404
    assert client.get(f"/comments/{CLOSED}/reply/1").status_code == 403
