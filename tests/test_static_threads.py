"""Static thread data: the bake writes each thread's JSON and the counts beside the pages.

The page's script reads these files from the static host before the API, so they must be
the API's own bytes, follow every staff action within the re-bake, and stay untouched
(same ETag on a static host) while nothing changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from service_support import CLOSED, HIDDEN, OPEN, OTHER, app_client, post, with_docs
from site_support import copy_project, mkdocs_build, soup
from test_bake import add_comment, page_html
from test_baker import moderation

from comments_service.config import Settings
from comments_service.site.bake import SiteBaker, ThreadRenderer, bake_site
from comments_service.site.build_bake import BuildBaker, every_public_thread
from comments_service.site.rebake import Baker
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentStatus
from comments_service.verbs.moderation import Actor

OPERATOR = Actor.operator("test")
BAKED = (OPEN, OTHER, CLOSED)


def make_pages(site_dir: Path) -> None:
    """One built page per article that shows comments (a hidden article has no section)."""
    for article_id in BAKED:
        page = site_dir / article_id / "index.html"
        page.parent.mkdir(parents=True)
        page.write_bytes(page_html(article_id))


@pytest.fixture
def docs_settings(settings: Settings, tmp_path: Path) -> Settings:
    return with_docs(settings, tmp_path, bake_debounce_seconds=0.0)


@pytest.fixture
def docs_database(docs_settings: Settings) -> Database:
    database = Database(docs_settings)
    upgrade(database)
    yield database
    database.dispose()


def data_file(settings: Settings, name: str) -> Path:
    return settings.site_dir / "comments-data" / name


def test_bake_writes_each_thread_byte_identical_to_the_api(docs_settings, docs_database):
    make_pages(docs_settings.site_dir)
    add_comment(docs_database, OPEN, "First & <best> words", author="Ann")
    add_comment(docs_database, OPEN, "A second one, ünïcode", author="Bo", minutes=1)
    add_comment(docs_database, OPEN, "Still pending", status=CommentStatus.PENDING, minutes=2)
    add_comment(docs_database, OTHER, "On the other article", minutes=3)

    report = bake_site(docs_database, docs_settings)

    with app_client(docs_settings) as client:
        for article_id in BAKED:
            api = client.get(f"/api/articles/{article_id}/comments")
            assert api.status_code == 200
            assert data_file(docs_settings, f"{article_id}.json").read_bytes() == api.content
        counts = client.get("/api/counts", params={"article": list(BAKED)}).json()
    assert json.loads(data_file(docs_settings, "counts.json").read_bytes()) == counts == {
        OPEN: 2, OTHER: 1, CLOSED: 0}
    assert not data_file(docs_settings, f"{HIDDEN}.json").exists()
    assert data_file(docs_settings, "counts.json") in report.data_changed


def test_an_unchanged_thread_keeps_its_file_and_so_its_etag(docs_settings, docs_database):
    make_pages(docs_settings.site_dir)
    add_comment(docs_database, OPEN, "Stays as it is")
    bake_site(docs_database, docs_settings)
    thread = data_file(docs_settings, f"{OPEN}.json")
    before = thread.stat()

    again = bake_site(docs_database, docs_settings)

    assert again.data_changed == []
    assert thread.stat().st_mtime_ns == before.st_mtime_ns
    assert thread.stat().st_ino == before.st_ino


def test_a_staff_action_rewrites_the_thread_and_counts_on_rebake(docs_settings, docs_database):
    make_pages(docs_settings.site_dir)
    baker = Baker(docs_settings, docs_database)
    baker.bake_all()
    with app_client(docs_settings) as client:
        comment_id = post(client, OPEN).json()["id"]
        assert json.loads(data_file(docs_settings, f"{OPEN}.json").read_bytes())["count"] == 0

        moderation(docs_database, docs_settings).approve(comment_id, OPERATOR)
        done = baker.run_once()

        thread = data_file(docs_settings, f"{OPEN}.json")
        assert [p.article_id for p in done] == [OPEN]
        assert thread.read_bytes() == client.get(f"/api/articles/{OPEN}/comments").content
        assert [c["id"] for c in json.loads(thread.read_bytes())["comments"]] == [comment_id]
        assert json.loads(data_file(docs_settings, "counts.json").read_bytes())[OPEN] == 1

        moderation(docs_database, docs_settings).reject(comment_id, OPERATOR)
        baker.run_once()

        assert json.loads(thread.read_bytes())["comments"] == []
        assert thread.read_bytes() == client.get(f"/api/articles/{OPEN}/comments").content
        assert json.loads(data_file(docs_settings, "counts.json").read_bytes())[OPEN] == 0


def test_turned_off_the_bake_removes_the_files(docs_settings, docs_database):
    make_pages(docs_settings.site_dir)
    add_comment(docs_database, OPEN, "Soon only on the API")
    bake_site(docs_database, docs_settings)
    assert data_file(docs_settings, f"{OPEN}.json").is_file()
    off = docs_settings.model_copy(update={"static_threads": False})
    database = Database(off)
    try:
        report = bake_site(database, off)
    finally:
        database.dispose()

    assert not data_file(docs_settings, f"{OPEN}.json").exists()
    assert not data_file(docs_settings, "counts.json").exists()
    assert data_file(docs_settings, "counts.json") in report.data_changed


def test_the_site_build_writes_the_same_files_as_the_bake(docs_settings, docs_database,
                                                          tmp_path):
    make_pages(docs_settings.site_dir)
    add_comment(docs_database, OPEN, "Built and baked alike", author="Ann")
    bake_site(docs_database, docs_settings)
    with docs_database.read() as session:
        threads = every_public_thread(session)
    build = BuildBaker(threads, ThreadRenderer())
    for article_id in BAKED:
        build.fill(page_html(article_id).decode("latin-1"))
    built_site = tmp_path / "built"

    build.finish(built_site)

    for name in (f"{a}.json" for a in BAKED):
        assert (built_site / "comments-data" / name).read_bytes() == \
            data_file(docs_settings, name).read_bytes()
    assert (built_site / "comments-data" / "counts.json").read_bytes() == \
        data_file(docs_settings, "counts.json").read_bytes()


def test_a_real_site_build_writes_the_data_and_pages_point_at_it(tmp_path):
    var_dir = tmp_path / "var"
    settings = Settings(var_dir=var_dir)
    database = Database(settings)
    upgrade(database)
    add_comment(database, "therapeutic-impasse", "Baked and written as JSON", author="Ann")
    project = copy_project(tmp_path / "project")

    result = mkdocs_build(project, tmp_path / "site", var_dir)

    assert result.returncode == 0, result.output
    data = result.site_dir / "comments-data"
    thread = json.loads((data / "therapeutic-impasse.json").read_bytes())
    assert [c["author"] for c in thread["comments"]] == ["Ann"]
    assert json.loads((data / "counts.json").read_bytes())["therapeutic-impasse"] == 1
    section = soup(result.site_dir / "therapeutic-impasse" / "index.html").select_one(
        ".cs-comments")
    assert section["data-static"] == "../comments-data/"
    # The service's bake of the fresh site finds every file already as it would write it.
    try:
        report = SiteBaker(database, result.site_dir, settings.nosnippet).bake()
    finally:
        database.dispose()
    assert report.data_changed == []


def test_the_rebaker_wakes_when_the_debounce_ends_not_a_poll_later(docs_settings,
                                                                     docs_database):
    make_pages(docs_settings.site_dir)
    settings = docs_settings.model_copy(update={"bake_debounce_seconds": 0.6})
    baker = Baker(settings, docs_database)
    comment_id = add_comment(docs_database, OPEN, "Approved just now",
                             status=CommentStatus.PENDING)
    moderation(docs_database, settings).approve(comment_id, OPERATOR)

    assert baker.run_once() == []

    # Due once 0.6 s have passed since the approval: the baker sleeps that long, no longer.
    assert baker.next_due_in is not None
    assert 0 < baker.next_due_in <= 0.6
