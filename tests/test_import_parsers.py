"""The import parsers (WordPress WXR, Disqus XML, Isso SQLite) and the HTML-to-text step."""

from __future__ import annotations

import gzip
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from import_support import DISQUS, WXR_11, WXR_12, build_isso

from comments_service.verbs.importers import disqus, isso, parse_export, wordpress
from comments_service.verbs.importers.html_body import (
    clean_name,
    html_to_text,
    markdown_to_text,
)
from comments_service.verbs.importers.records import (
    Export,
    ImportSourceError,
    SourceStatus,
)
from comments_service.verbs.importers.xml_stream import CHUNK_BYTES, UnsafeXML, XMLStream
from comments_service.verbs.render import render_comment


def by_id(export: Export) -> dict[str, object]:
    return {c.source_id: c for c in export.comments}


# WordPress ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wxr() -> Export:
    return wordpress.parse(WXR_12)


def test_wxr_items_with_comments_become_threads_with_every_identifier(wxr: Export) -> None:
    # The attachment item has no comments and is no thread.
    assert list(wxr.threads) == ["101", "102", "103", "77"]
    worry = wxr.threads["101"]
    assert worry.url == "https://blog.example.org/2019/04/coping-with-worry/"
    assert worry.slug == "coping-with-worry"
    assert worry.post_id == "101"
    assert worry.guid == "https://blog.example.org/?p=101"
    assert worry.title == "Coping with worry"
    assert wxr.threads["102"].slug == "sleep-and-mood-2"


def test_wxr_cdata_split_around_a_literal_end_marker_is_joined(wxr: Export) -> None:
    first = by_id(wxr)["1001"]
    assert first.body_text == ("I used to think ]]> only appeared in code.\n\n"
                               "Thank you for writing this.")


def test_wxr_statuses_and_what_is_left_out(wxr: Export) -> None:
    comments = by_id(wxr)
    assert comments["1001"].status == SourceStatus.APPROVED
    assert comments["1006"].status == SourceStatus.PENDING
    assert comments["1007"].status == SourceStatus.SPAM
    # trash, pingback, trackback and comments on a trashed post are counted, not returned
    for missing in ("1008", "1009", "1010", "1022"):
        assert missing not in comments
    assert dict(wxr.threads["101"].skipped) == {"trash": 1, "pingback": 1, "trackback": 1}
    assert dict(wxr.threads["102"].skipped) == {"trash": 1}


def test_wxr_uses_the_gmt_time_not_the_sites_local_one(wxr: Export) -> None:
    comment = by_id(wxr)["1001"]  # comment_date 12:15 local, comment_date_gmt 10:15
    assert comment.created_at == datetime(2019, 4, 2, 10, 15, tzinfo=UTC)
    assert comment.created_at.tzinfo is UTC
    assert not comment.time_estimated


def test_wxr_zero_gmt_time_is_estimated_from_the_posts_own_offset(wxr: Export) -> None:
    comment = by_id(wxr)["1013"]  # 10:00 local on a post whose local time is GMT+2
    assert comment.created_at == datetime(2019, 4, 3, 8, 0, tzinfo=UTC)
    assert comment.time_estimated


def test_wxr_zero_gmt_time_without_a_post_offset_is_taken_as_utc(tmp_path: Path) -> None:
    text = WXR_11.read_text(encoding="utf-8")
    text = text.replace("<wp:post_date_gmt>2012-11-05 14:00:00</wp:post_date_gmt>",
                        "<wp:post_date_gmt>0000-00-00 00:00:00</wp:post_date_gmt>")
    text = text.replace("<wp:comment_date_gmt>2012-11-06 02:30:00</wp:comment_date_gmt>",
                        "<wp:comment_date_gmt>0000-00-00 00:00:00</wp:comment_date_gmt>")
    path = tmp_path / "export.xml"
    path.write_text(text, encoding="utf-8")
    comment = by_id(wordpress.parse(path))["2001"]
    assert comment.created_at == datetime(2012, 11, 5, 21, 30, tzinfo=UTC)
    assert comment.time_estimated


def test_wxr_local_time_on_the_previous_day_keeps_the_gmt_date() -> None:
    comment = by_id(wordpress.parse(WXR_11))["2001"]  # 21:30 local (GMT-5) on 5 November
    assert comment.created_at == datetime(2012, 11, 6, 2, 30, tzinfo=UTC)


def test_wxr_parents_users_and_missing_values(wxr: Export) -> None:
    comments = by_id(wxr)
    assert comments["1001"].parent_source_id is None  # comment_parent 0
    assert comments["1002"].parent_source_id == "1001"
    assert comments["1011"].parent_source_id == "9999"  # kept; the import re-attaches it
    staff = comments["1002"]
    assert (staff.source_user_id, staff.source_username) == ("2", "rvale")
    assert comments["1001"].source_user_id == ""  # comment_user_id 0: a guest
    sunny = comments["1004"]
    assert sunny.email is None and sunny.ip is None
    assert comments["1003"].ip == "2001:db8::17"
    assert comments["1001"].author_url == "https://amal.example.net/"


def test_wxr_names_are_kept_exactly_in_any_script(wxr: Export) -> None:
    comments = by_id(wxr)
    assert comments["1001"].author_name == "أمل حداد"
    assert comments["1003"].author_name == "王芳"
    assert comments["1004"].author_name == "🌻 Sunny 🌻"
    # WordPress stored it escaped; it is the text the reader typed, markup not parsed.
    assert comments["1005"].author_name == "<b>Bold Ben</b> & co"


def test_wxr_bodies_lose_scripts_keep_links_and_decode_entities(wxr: Export) -> None:
    body = by_id(wxr)["1003"].body_text
    assert body == ("This helped & I tried the breathing exercise "
                    "(https://example.org/breathing).\nFish <3 chips \u2013 really.")
    assert "alert" not in body
    assert by_id(wxr)["1004"].body_text == "> Fish <3 chips\n\nSame here!"


def test_wxr_11_reads_like_12() -> None:
    export = wordpress.parse(WXR_11)
    assert list(export.threads) == ["12"]
    thread = export.threads["12"]
    assert (thread.url, thread.slug) == ("http://old.example.com/talking-to-a-gp/",
                                         "talking-to-your-gp")
    comments = by_id(export)
    assert comments["2001"].author_name == "Sam O'Neill"
    assert comments["2001"].body_text == ("I made a list before my appointment.\n"
                                          "It helped me remember everything.")
    assert (comments["2002"].source_user_id, comments["2002"].source_username) == ("1", "dlee")
    assert comments["2003"].status == SourceStatus.PENDING
    assert comments["2003"].email is None


def test_wxr_plugin_comment_types_are_counted_not_imported(tmp_path: Path) -> None:
    text = WXR_11.read_text(encoding="utf-8").replace(
        "<wp:comment_type></wp:comment_type>", "<wp:comment_type>review</wp:comment_type>", 1)
    path = tmp_path / "export.xml"
    path.write_text(text, encoding="utf-8")
    export = wordpress.parse(path)
    assert "2001" not in by_id(export)
    assert export.threads["12"].skipped["other comment type"] == 1


@pytest.mark.parametrize("namespace, message", [
    ("http://wordpress.org/export/1.0/", "is WXR version 1.0; this importer reads WXR 1.1 "
                                         "and 1.2"),
    ("http://example.org/not-wordpress/", r"is not a WordPress export \(WXR\)"),
])
def test_wxr_other_versions_are_refused(tmp_path: Path, namespace: str, message: str) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WXR_11.read_text(encoding="utf-8").replace(
        'xmlns:wp="http://wordpress.org/export/1.1/"', f'xmlns:wp="{namespace}"'),
        encoding="utf-8")
    with pytest.raises(ImportSourceError, match=message):
        wordpress.parse(path)


def test_a_disqus_file_given_as_wordpress_says_what_it_is() -> None:
    with pytest.raises(ImportSourceError, match=r"root element is <disqus>, not <rss>"):
        wordpress.parse(DISQUS)


# Disqus -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dsq() -> Export:
    return disqus.parse(DISQUS)


def test_disqus_posts_before_their_threads_and_parents_are_resolved(dsq: Export) -> None:
    comments = by_id(dsq)
    assert comments["8003"].thread_source_id == "7002"
    assert comments["8003"].parent_source_id == "8002"  # listed before its parent
    assert comments["8006"].parent_source_id == "8005"
    assert comments["8001"].thread_source_id == "7001"  # listed before its thread


def test_disqus_thread_named_by_identifier_text(dsq: Export) -> None:
    assert by_id(dsq)["8009"].thread_source_id == "7001"  # <thread>coping-with-worry</thread>


def test_disqus_threads_carry_link_title_and_identifier(dsq: Export) -> None:
    first, second = dsq.threads["7001"], dsq.threads["7002"]
    assert (first.url, first.identifier, first.title) == (
        "http://old.example.net/coping-with-worry", "coping-with-worry", "Coping with worry")
    assert second.url == ("https://old.example.net/coping-with-worry/?utm_source=newsletter"
                          "#disqus_thread")
    assert second.identifier == ""


def test_disqus_statuses(dsq: Export) -> None:
    comments = by_id(dsq)
    assert comments["8001"].status == SourceStatus.APPROVED
    assert comments["8004"].status == SourceStatus.SPAM
    assert comments["8005"].status == SourceStatus.DELETED


def test_disqus_accounts_only_for_signed_in_authors(dsq: Export) -> None:
    comments = by_id(dsq)
    assert comments["8003"].source_username == "team_mira"
    assert comments["8007"].source_username == ""  # anonymous guest, whatever it says


def test_disqus_names_and_bodies(dsq: Export) -> None:
    comments = by_id(dsq)
    assert comments["8007"].author_name == "😀 Ana & <i>friends</i>"
    assert comments["8007"].email is None and comments["8007"].ip is None
    assert comments["8007"].body_text == "Guest post & no account 😀"
    assert comments["8002"].body_text == ("I worry every night.\nEvery single night.\n\n"
                                          "> Worry is a normal part of life.\n\nIs it, though?")
    # a link's address is added unless its text already is that address (even shortened)
    assert comments["8001"].body_text == (
        "First paragraph.\n\nSecond, with a worry tree (https://example.org/worry-tree) and "
        "https://example.org/very/long/path/to/a/resource")


def test_disqus_times_are_utc_with_or_without_a_zone(dsq: Export) -> None:
    comments = by_id(dsq)
    assert comments["8001"].created_at == datetime(2020, 1, 5, 14, 30, tzinfo=UTC)
    assert comments["8009"].created_at == datetime(2020, 1, 9, 10, 0, tzinfo=UTC)


def test_disqus_post_whose_thread_is_missing_is_counted(dsq: Export) -> None:
    assert "8010" not in by_id(dsq)
    assert dsq.skipped["thread not in the export"] == 1


def test_disqus_gzipped_export_reads_the_same(tmp_path: Path, dsq: Export) -> None:
    path = tmp_path / "export.xml.gz"
    path.write_bytes(gzip.compress(DISQUS.read_bytes()))
    assert by_id(disqus.parse(path)).keys() == by_id(dsq).keys()


def test_a_wordpress_file_given_as_disqus_is_refused() -> None:
    with pytest.raises(ImportSourceError, match=r"not a Disqus export: its root element is <rss>"):
        disqus.parse(WXR_12)


# Isso ---------------------------------------------------------------------------------------


@pytest.fixture
def isso_db(tmp_path: Path) -> Path:
    return build_isso(tmp_path / "comments.db")


def test_isso_threads_comments_and_modes(isso_db: Path) -> None:
    export = isso.parse(isso_db)
    assert [(t.source_id, t.url, t.title) for t in export.threads.values()] == [
        ("1", "/coping-with-worry/", "Coping with worry"),
        ("2", "/guides/sleep-and-mood", ""),
        ("3", "/old-page/", "A page that no longer exists")]
    comments = by_id(export)
    assert comments["1"].status == SourceStatus.APPROVED
    assert comments["4"].status == SourceStatus.PENDING
    assert comments["5"].status == SourceStatus.DELETED
    assert comments["6"].parent_source_id == "5"
    assert comments["1"].created_at == datetime(2020, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert comments["7"].author_name == "" and comments["7"].email is None
    assert comments["7"].ip is None
    assert comments["2"].author_name == "Mira from the team"


def test_isso_markdown_bodies(isso_db: Path) -> None:
    comments = by_id(isso.parse(isso_db))
    assert comments["1"].body_text == (
        "Hello **world**.\n\nThe worry guide (https://example.org/worry-guide) helped.\n"
        "> a quoted line\nmine")
    assert comments["2"].body_text == "Thank you, Maya. Take care."


def test_isso_database_is_opened_read_only(isso_db: Path) -> None:
    before = isso_db.read_bytes()
    connection = isso._open(isso_db)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("DELETE FROM comments")
    finally:
        connection.close()
    isso.parse(isso_db)
    assert isso_db.read_bytes() == before


def test_isso_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(ImportSourceError, match="not an SQLite file"):
        isso.parse(WXR_12)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE threads (id INTEGER)").connection.close()
    with pytest.raises(ImportSourceError, match="table 'threads' lacks column"):
        isso.parse(other)


# Safety and errors -----------------------------------------------------------------------------

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
{root}
"""
ROOTS = {
    "wordpress": '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
                 "<title>&lol3;</title></item></channel></rss>",
    "disqus": '<disqus xmlns="http://disqus.com"><post><message>&lol3;</message></post></disqus>',
}


@pytest.mark.parametrize("kind", ["wordpress", "disqus"])
def test_an_xml_bomb_is_refused_with_a_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BOMB.format(root=ROOTS[kind]), encoding="utf-8")
    with pytest.raises(UnsafeXML) as caught:
        parse_export(kind, path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: refused: the file has a DOCTYPE declaration")
    assert "XML bomb" in message


def test_an_external_entity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '\n<disqus xmlns="http://disqus.com"><post>&x;</post></disqus>',
                    encoding="utf-8")
    with pytest.raises(UnsafeXML, match="DOCTYPE"):
        disqus.parse(path)


def test_an_undeclared_entity_is_malformed_xml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "entity.xml"
    path.write_text('<?xml version="1.0"?>\n<disqus xmlns="http://disqus.com">\n'
                    "<post><message>&nbsp;</message></post></disqus>", encoding="utf-8")
    with pytest.raises(ImportSourceError, match=rf"^{path}:3: malformed XML: undefined entity"):
        disqus.parse(path)


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    lines = WXR_11.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines) if "<wp:comment_id>2002" in text)
    lines[line] = lines[line].replace("</wp:comment_id>", "</wp:comment_i>")
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ImportSourceError) as caught:
        wordpress.parse(path)
    assert caught.value.line == line + 1
    assert str(caught.value).startswith(f"{path}:{line + 1}: malformed XML: mismatched tag")


def test_missing_file_and_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ImportSourceError, match=r"nothing\.xml: no such file"):
        parse_export("wordpress", tmp_path / "nothing.xml")
    with pytest.raises(ImportSourceError, match=r"nothing\.db: no such file"):
        parse_export("isso", tmp_path / "nothing.db")
    with pytest.raises(ImportSourceError, match="unknown source kind 'blogger'; use one of: "
                                                "wordpress, disqus, isso"):
        parse_export("blogger", WXR_12)


def test_an_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ImportSourceError, match=r":1: malformed XML: no element found"):
        disqus.parse(path)


def test_large_exports_are_streamed_one_item_at_a_time(tmp_path: Path) -> None:
    comment = ("<wp:comment><wp:comment_id>{id}</wp:comment_id><wp:comment_author>"
               "<![CDATA[Reader {id}]]></wp:comment_author><wp:comment_date_gmt>"
               "2020-01-01 00:00:00</wp:comment_date_gmt><wp:comment_content><![CDATA["
               + "A long comment. " * 20 + "]]></wp:comment_content><wp:comment_approved>1"
               "</wp:comment_approved><wp:comment_parent>0</wp:comment_parent></wp:comment>")
    items = "".join(
        f"<item><title>Post {p}</title><link>https://x.example/{p}/</link>"
        f"<wp:post_id>{p}</wp:post_id>"
        + "".join(comment.format(id=p * 100 + c) for c in range(20)) + "</item>"
        for p in range(1, 301))
    path = tmp_path / "large.xml"
    path.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/">'
                    f"<channel>{items}</channel></rss>", encoding="utf-8")
    assert path.stat().st_size > 2 * CHUNK_BYTES

    stream = XMLStream(path, depth=2)
    seen = checked = 0
    for element in stream:
        seen += 1
        assert element.tag == "item"
        if len(stream._stack) > 1:  # still inside <rss><channel>
            assert len(stream._stack[1]) == 0  # yielded items are not kept in the tree
            checked += 1
    assert seen == 300 and checked > 0

    calls: list[tuple[int, int]] = []
    export = wordpress.parse(path, progress=lambda done, total: calls.append((done, total)))
    assert len(export.comments) == 6000
    assert len(calls) >= 3 and calls[-1][0] == calls[-1][1] == path.stat().st_size


# HTML bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source, expected", [
    ("<p>One</p><p>Two</p>", "One\n\nTwo"),
    ("one<br>two<br/>three", "one\ntwo\nthree"),
    ("<p>spread\n   over\tlines</p>", "spread over lines"),
    ("<blockquote><p>quoted</p><p>twice</p></blockquote><p>reply</p>",
     "> quoted\n\n> twice\n\nreply"),
    ("<blockquote>outer<blockquote>inner</blockquote></blockquote>", "> outer\n\n> > inner"),
    ('<a href="https://example.org/a">a page</a>', "a page (https://example.org/a)"),
    ('<a href="https://example.org/a">https://example.org/a</a>', "https://example.org/a"),
    ('<a href="https://www.example.org/a/">example.org/a</a>', "https://www.example.org/a/"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ('<a href="/relative">here</a>', "here"),
    ('<a href="mailto:someone@example.org">write</a>', "write"),
    ('<a href="https://example.org/a b">x</a>', "x (https://example.org/a%20b)"),
    ("<script>alert(1)</script>kept<style>p { color: red }</style>", "kept"),
    ("<iframe src='https://x.example'>fallback</iframe>after", "after"),
    ("&amp; &lt;tag&gt; &eacute; &#8217; &#x1F600;", "& <tag> \u00e9 \u2019 \U0001F600"),
    ("<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>",
     "- one\n- two\n\n1. first\n2. second"),
    ("<pre>keep\n  this</pre>", "keep\nthis"),
    ("<img src='x.png' alt='a picture'><b>bold</b> <i>it</i>", "bold it"),
    ("<p></p><div>  </div><p>only</p>", "only"),
    ("bell\x07 and nul\x00 gone", "bell and nul gone"),
])
def test_html_bodies(source: str, expected: str) -> None:
    assert html_to_text(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("Line one\nLine two\n\nNew paragraph", "Line one\nLine two\n\nNew paragraph"),
    ("Line one<br />\nLine two", "Line one\nLine two"),
    ("<p>First</p>\n<p>Second</p>", "First\n\nSecond"),
    ("<blockquote>said\nthis</blockquote>\nanswer", "> said\n> this\n\nanswer"),
    ("\r\nwindows\r\nlines\r\n", "windows\nlines"),
])
def test_text_bodies_keep_their_own_newlines(source: str, expected: str) -> None:
    assert html_to_text(source, newlines="text") == expected


def test_markdown_links_become_text_and_address() -> None:
    assert markdown_to_text("See [the guide](https://example.org/g) or <https://x.example/y>"
                            ) == "See the guide (https://example.org/g) or https://x.example/y"
    assert markdown_to_text("[wiki](https://example.org/A_(b))") == (
        "wiki (https://example.org/A_(b))")


def test_converted_bodies_render_as_safe_linked_html() -> None:
    text = html_to_text('<p>Try <a href="https://example.org/a">this</a>.</p>'
                        '<script>alert(1)</script><p>&lt;script&gt;</p>')
    html = render_comment(text)
    assert html == ('<p>Try this (<a href="https://example.org/a" rel="nofollow ugc noopener">'
                    'https://example.org/a</a>).</p><p>&lt;script&gt;</p>')


@pytest.mark.parametrize("name, decode, expected", [
    ("  أمل حداد  ", False, "أمل حداد"),
    ("王芳", False, "王芳"),
    ("👩🏽‍⚕️ Dr. Emoji", False, "👩🏽‍⚕️ Dr. Emoji"),
    ("<b>Bold</b> &amp; co", False, "<b>Bold</b> &amp; co"),
    ("&lt;b&gt;Bold&lt;/b&gt; &amp; co", True, "<b>Bold</b> & co"),
    ("two\nlines\there", False, "two lines here"),
    ("bell\x07", False, "bell"),
])
def test_names_are_text_kept_exactly(name: str, decode: bool, expected: str) -> None:
    assert clean_name(name, decode_entities=decode) == expected
