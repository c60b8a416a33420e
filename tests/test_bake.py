"""Baking approved comments into built pages: markers, bytes outside them, the thread markup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from comments_service.cli import main as cli_main
from comments_service.config import Settings
from comments_service.site.bake import SiteBaker, bake_site, display_time
from comments_service.store.database import Database
from comments_service.store.models import Comment, CommentStatus, StaffRole, StaffUser
from comments_service.verbs.render import render_comment

BEGIN = '<!-- comments:begin article="{id}" -->'
END = '<!-- comments:end article="{id}" -->'
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def page_html(article_id: str, inner: str = "\n<p>placeholder</p>\n") -> bytes:
    # Odd bytes outside the markers on purpose: CRLF, a lone CR, trailing spaces, Latin-1
    # that is not valid UTF-8. Baking must leave every one of them alone.
    return (
        b"<!doctype html>\r\n<html><head><title>T\xe9st</title></head>\r\n<body>  \r"
        b"<main><p>Article text &amp; more</p>\n"
        + BEGIN.format(id=article_id).encode()
        + inner.encode()
        + END.format(id=article_id).encode()
        + b"\n<form id=\"comment-form\"></form></main>\t\n</body></html>\r\n"
    )


def add_comment(
    database: Database,
    article_id: str,
    body: str,
    *,
    author: str = "Robin",
    status: CommentStatus = CommentStatus.APPROVED,
    parent_id: int | None = None,
    minutes: int = 0,
    staff: StaffUser | None = None,
    erased: bool = False,
) -> int:
    with database.write() as session:
        comment = Comment(
            article_id=article_id,
            parent_id=parent_id,
            depth=0 if parent_id is None else 1,
            author_name=author,
            body=body,
            body_html=render_comment(body),
            status=status,
            is_staff=staff is not None,
            staff_user_id=staff.id if staff else None,
            created_at=T0 + timedelta(minutes=minutes),
            erased=erased,
        )
        session.add(comment)
        session.flush()
        return comment.id


def add_staff(database: Database) -> StaffUser:
    with database.write() as session:
        user = StaffUser(
            username="sam", display_name="Dr Sam Lee", signature="Clinical editor",
            role=StaffRole.MODERATOR, password_hash="unused",
        )
        session.add(user)
        session.flush()
        return user


@pytest.fixture
def site(settings: Settings) -> Path:
    site_dir = settings.site_dir
    (site_dir / "impasse").mkdir(parents=True)
    (site_dir / "impasse" / "index.html").write_bytes(page_html("impasse"))
    (site_dir / "ending").mkdir()
    (site_dir / "ending" / "index.html").write_bytes(page_html("ending"))
    (site_dir / "index.html").write_bytes(b"<html><body>home, no markers</body></html>")
    return site_dir


def section(path: Path, article_id: str) -> BeautifulSoup:
    data = path.read_bytes()
    begin = BEGIN.format(id=article_id).encode()
    start = data.index(begin) + len(begin)
    end = data.index(END.format(id=article_id).encode())
    return BeautifulSoup(data[start:end].decode("utf-8"), "html5lib")


def outside(data: bytes, article_id: str) -> tuple[bytes, bytes]:
    begin = BEGIN.format(id=article_id).encode()
    end = END.format(id=article_id).encode()
    return data[: data.index(begin) + len(begin)], data[data.index(end):]


def test_bake_fills_the_section_with_approved_comments_only(database, settings, site):
    add_comment(database, "impasse", "Approved words", author="Ann")
    add_comment(database, "impasse", "Still pending", status=CommentStatus.PENDING, minutes=1)
    add_comment(database, "impasse", "Rejected words", status=CommentStatus.REJECTED, minutes=2)
    add_comment(database, "impasse", "Deleted words", status=CommentStatus.DELETED, minutes=3)
    add_comment(database, "ending", "About another article", minutes=4)

    bake_site(database, settings)

    soup = section(site / "impasse" / "index.html", "impasse")
    text = soup.get_text()
    assert "Approved words" in text
    assert "Still pending" not in text
    assert "Rejected words" not in text
    assert "Deleted words" not in text
    assert "About another article" not in text
    assert "placeholder" not in text
    assert soup.select_one(".cs-count").get_text() == "1 comment"
    assert soup.select_one(".cs-count")["data-count"] == "1"


def test_bake_leaves_every_byte_outside_the_markers_unchanged(database, settings, site):
    add_comment(database, "impasse", "Hello there")
    path = site / "impasse" / "index.html"
    before = path.read_bytes()
    home_before = (site / "index.html").read_bytes()

    report = bake_site(database, settings)

    after = path.read_bytes()
    assert after != before
    assert outside(after, "impasse") == outside(before, "impasse")
    assert (site / "index.html").read_bytes() == home_before
    assert path in report.pages_changed


def test_bake_is_idempotent(database, settings, site):
    add_comment(database, "impasse", "Once is enough")
    bake_site(database, settings)
    first = (site / "impasse" / "index.html").read_bytes()
    mtime = (site / "impasse" / "index.html").stat().st_mtime_ns

    report = bake_site(database, settings)

    assert (site / "impasse" / "index.html").read_bytes() == first
    assert report.pages_changed == []
    # An unchanged page is not rewritten, so the static host sees nothing to sync.
    assert (site / "impasse" / "index.html").stat().st_mtime_ns == mtime


def test_bake_keeps_the_page_file_mode(database, settings, site):
    path = site / "impasse" / "index.html"
    path.chmod(0o644)
    add_comment(database, "impasse", "Readable by the web server")
    bake_site(database, settings)
    assert path.stat().st_mode & 0o777 == 0o644
    assert not list(path.parent.glob(".*.tmp"))


def test_bake_of_one_article_touches_only_its_pages(database, settings, site):
    add_comment(database, "impasse", "For impasse")
    add_comment(database, "ending", "For ending", minutes=1)
    ending_before = (site / "ending" / "index.html").read_bytes()

    report = bake_site(database, settings, article_id="impasse")

    assert "For impasse" in section(site / "impasse" / "index.html", "impasse").get_text()
    assert (site / "ending" / "index.html").read_bytes() == ending_before
    assert report.articles == {"impasse"}


def test_rebaking_one_page_reads_and_writes_only_that_page(database, settings, site):
    # What keeps a re-bake to milliseconds is doing no site-wide work; its time is
    # measured by benchmarks/run.py, not here, where a busy machine would make it flaky.
    for i in range(50):
        add_comment(database, "impasse", f"Comment number {i}", minutes=i)
    baker = SiteBaker(database, settings.site_dir)
    everything = baker.bake()
    add_comment(database, "impasse", "One more", minutes=60)

    report = baker.bake("impasse")

    assert everything.pages_scanned > 1
    assert report.pages_scanned == 1
    assert report.pages_changed == [site / "impasse" / "index.html"]
    assert report.articles == {"impasse"}


def test_replies_nest_under_their_parent(database, settings, site):
    parent = add_comment(database, "impasse", "Top level", author="Ann")
    reply = add_comment(database, "impasse", "A reply", author="Bo", parent_id=parent, minutes=1)
    other = add_comment(database, "impasse", "Second top level", author="Cy", minutes=2)

    bake_site(database, settings)

    soup = section(site / "impasse" / "index.html", "impasse")
    top_items = soup.select(".cs-thread > ol.cs-list > li.cs-item")
    assert [li["data-comment-id"] for li in top_items] == [str(parent), str(other)]
    nested = top_items[0].select("ol.cs-replies > li.cs-item > article")
    assert [a["id"] for a in nested] == [f"comment-{reply}"]
    assert soup.select_one(".cs-count").get_text() == "3 comments"


def test_each_comment_has_author_time_body_and_anchor(database, settings, site):
    comment_id = add_comment(database, "impasse", "Line one\nline two\n\nSecond <b>para</b>",
                             author="Ann <Admin>")
    bake_site(database, settings)

    soup = section(site / "impasse" / "index.html", "impasse")
    article = soup.select_one(f"article#comment-{comment_id}")
    assert article.select_one(".cs-author").get_text() == "Ann <Admin>"
    assert not article.select("b")  # the reader's markup stays text
    assert article.select_one("time")["datetime"] == "2026-11-26T09:00:00Z"
    assert article.select_one("time").get_text() == "26 November 2026, 09:00 UTC"
    assert article.select_one(f'a.cs-anchor[href="#comment-{comment_id}"]') is not None
    body = article.select_one(".cs-body")
    assert [p.get_text() for p in body.select("p")] == ["Line oneline two", "Second <b>para</b>"]
    assert body.select("br")
    assert article.select_one(f'a.cs-reply[data-reply="{comment_id}"]') is not None
    assert "cs-staff" not in article["class"]
    assert article.select_one(".cs-badge") is None


def test_staff_reply_shows_name_badge_and_signature(database, settings, site):
    staff = add_staff(database)
    parent = add_comment(database, "impasse", "A question")
    reply = add_comment(database, "impasse", "Our answer", author="ignored", parent_id=parent,
                        staff=staff, minutes=5)

    bake_site(database, settings)

    soup = section(site / "impasse" / "index.html", "impasse")
    article = soup.select_one(f"article#comment-{reply}")
    assert "cs-staff" in article["class"]
    assert article.select_one(".cs-author").get_text() == "Dr Sam Lee"
    assert article.select_one(".cs-badge").get_text() == "Staff"
    assert article.select_one(".cs-signature").get_text() == "Clinical editor"


def test_erased_author_shows_as_former_reader(database, settings, site):
    comment_id = add_comment(database, "impasse", "Kept words", author="Real Name", erased=True)
    bake_site(database, settings)
    soup = section(site / "impasse" / "index.html", "impasse")
    assert soup.select_one(f"#comment-{comment_id} .cs-author").get_text() == "Former reader"
    assert "Real Name" not in soup.get_text()


@pytest.mark.parametrize("nosnippet", [True, False])
def test_nosnippet_setting_marks_baked_comments(database, settings, site, nosnippet):
    add_comment(database, "impasse", "Private experience")
    bake_site(database, settings.model_copy(update={"nosnippet": nosnippet}))
    soup = section(site / "impasse" / "index.html", "impasse")
    assert soup.select_one(".cs-thread").has_attr("data-nosnippet") is nosnippet
    assert soup.select_one(".cs-body").has_attr("data-nosnippet") is nosnippet


def test_no_comments_says_so(database, settings, site):
    bake_site(database, settings)
    soup = section(site / "impasse" / "index.html", "impasse")
    assert soup.select_one(".cs-count").get_text() == "No comments yet."
    assert soup.select("article") == []


def test_removed_comment_disappears_on_rebake(database, settings, site):
    comment_id = add_comment(database, "impasse", "Soon rejected")
    bake_site(database, settings)
    assert "Soon rejected" in section(site / "impasse" / "index.html", "impasse").get_text()
    with database.write() as session:
        session.get(Comment, comment_id).status = CommentStatus.REJECTED
    bake_site(database, settings, article_id="impasse")
    assert "Soon rejected" not in section(site / "impasse" / "index.html", "impasse").get_text()


def test_bake_carries_the_form_token_for_the_no_js_form(database, settings, site):
    from comments_service.verbs import spam
    from comments_service.verbs.keyring import Keyring

    bake_site(database, settings)
    soup = section(site / "impasse" / "index.html", "impasse")
    token = soup.select_one('input[name="form_token"]')
    assert token["form"] == "comment-form"
    key = Keyring(settings.secret()).signing_key
    check = spam.check_form_token(key, token["value"], "impasse", 0, 2 * 86400)
    assert check.ok


def test_display_time_is_utc_and_unambiguous():
    assert display_time("2026-03-05T17:04:00Z") == "5 March 2026, 17:04 UTC"


def _page_for_article(site_dir: Path, article_id: str, state: str) -> Path:
    """A page as overrides/partials/comments.html renders it, closed or hidden."""
    path = site_dir / article_id / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    if state == "hidden":
        path.write_bytes(b"<html><body><p>No comments section at all.</p></body></html>")
    else:
        path.write_bytes(page_html(article_id) + b'<p class="cs-closed">Comments are closed.</p>')
    return path


def test_closed_article_keeps_its_comments_and_hidden_shows_none(database, settings):
    closed = _page_for_article(settings.site_dir, "closed-one", "closed")
    hidden = _page_for_article(settings.site_dir, "hidden-one", "hidden")
    hidden_before = hidden.read_bytes()
    add_comment(database, "closed-one", "Said before closing")
    add_comment(database, "hidden-one", "Never shown")

    bake_site(database, settings)

    assert "Said before closing" in section(closed, "closed-one").get_text()
    assert b"Comments are closed." in closed.read_bytes()
    assert hidden.read_bytes() == hidden_before


def test_cli_bake_command(database, settings, site, monkeypatch, capsys):
    add_comment(database, "impasse", "Via the command line")
    monkeypatch.setenv("COMMENTS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COMMENTS_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(settings.var_dir))

    assert cli_main(["bake", str(site), "--article", "impasse"]) == 0
    assert "1 article(s)" in capsys.readouterr().out
    assert "Via the command line" in section(site / "impasse" / "index.html", "impasse").get_text()

    assert cli_main(["bake", str(site), "--article", "no-such-article"]) == 1
    assert "no page" in capsys.readouterr().err
    assert cli_main(["bake", str(site / "missing")]) == 2


def test_bake_reads_either_database_backend(backend_settings: Settings) -> None:
    from comments_service.store.migrate import upgrade

    database = Database(backend_settings)
    try:
        upgrade(database)
        backend_settings.site_dir.mkdir(parents=True)
        page = backend_settings.site_dir / "index.html"
        page.write_bytes(page_html("impasse"))
        parent = add_comment(database, "impasse", "On any backend")
        add_comment(database, "impasse", "Nested", parent_id=parent, minutes=1)

        bake_site(database, backend_settings)

        soup = section(page, "impasse")
        assert soup.select_one(".cs-count").get_text() == "2 comments"
        assert "Nested" in soup.select_one("ol.cs-replies").get_text()
    finally:
        database.dispose()


def _statements_of_a_whole_site_bake(database: Database, settings: Settings) -> int:
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        bake_site(database, settings)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements)


def test_whole_site_bake_queries_only_the_articles_that_have_comments(database, settings, site):
    # A large library is mostly quiet articles: the bake must not query each of them.
    add_comment(database, "impasse", "The one thread with words")
    for i in range(20):
        (site / f"quiet-{i}").mkdir()
        (site / f"quiet-{i}" / "index.html").write_bytes(page_html(f"quiet-{i}"))
    with_twenty = _statements_of_a_whole_site_bake(database, settings)
    for i in range(20, 60):
        (site / f"quiet-{i}").mkdir()
        (site / f"quiet-{i}" / "index.html").write_bytes(page_html(f"quiet-{i}"))

    with_sixty = _statements_of_a_whole_site_bake(database, settings)

    assert with_sixty == with_twenty
    assert "The one thread with words" in section(site / "impasse" / "index.html",
                                                  "impasse").get_text()
    quiet = section(site / "quiet-59" / "index.html", "quiet-59")
    assert quiet.select_one(".cs-count").get_text() == "No comments yet."
    assert quiet.select_one('input[name="form_token"]') is not None


def test_finishing_pages_without_references_reads_no_front_matter(tmp_path, monkeypatch):
    from comments_service.site import post_build

    reads = []
    real = post_build.load_articles

    def counting(docs_dir, *args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(docs_dir)
        return real(docs_dir, *args, **kwargs)

    monkeypatch.setattr(post_build, "load_articles", counting)
    docs, site_dir = tmp_path / "docs", tmp_path / "site"
    docs.mkdir()
    for i in range(3):
        (site_dir / f"a{i}").mkdir(parents=True)
        (site_dir / f"a{i}" / "index.html").write_bytes(page_html(f"a{i}"))

    # Pages from an MkDocs build: their references were written by the plugin.
    assert post_build.finish_site(site_dir, docs).pages_changed == []
    assert reads == []

    for i in range(3):
        page = site_dir / f"a{i}" / "index.html"
        page.write_bytes(page.read_bytes() + f'<!-- references:begin article="a{i}" -->'
                         f'<!-- references:end article="a{i}" -->'.encode())

    report = post_build.finish_site(site_dir, docs)

    # Marked pages (a Zensical build) read docs/ once for all of them.
    assert reads == [docs]
    assert report.unknown_articles == {"a0", "a1", "a2"}
