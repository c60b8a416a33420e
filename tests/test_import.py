"""comments-service import, end to end through the CLI on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from conftest import TEST_SECRET
from import_support import (
    DISQUS,
    GP,
    GRIEF,
    SLEEP,
    WORRY,
    WXR_11,
    WXR_12,
    build_isso,
    write_import_docs,
)
from service_support import app_client
from sqlalchemy import func, inspect, select, text
from staff_support import fast_hashing  # noqa: F401 - autouse fixture

from comments_service.cli import main
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import alembic_config, upgrade
from comments_service.store.models import (
    AuditEntry,
    BakeRequest,
    Comment,
    CommentStatus,
    OutboxMail,
    StaffUser,
    ThreadVersion,
)
from comments_service.verbs import accounts
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.render import render_comment

# Long enough that the fixtures' 2019-2020 comments are inside it, so their IPs are hashed.
LONG_RETENTION = "36500"


@pytest.fixture
def import_settings(backend_settings: Settings, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's settings, with the import docs, also as COMMENTS_* for the CLI."""
    settings = backend_settings.model_copy(update={
        "docs_dir": write_import_docs(tmp_path / "docs"),
        "ip_hash_retention_days": int(LONG_RETENTION),
    })
    for name in [n for n in os.environ if n.startswith("COMMENTS_")]:
        monkeypatch.delenv(name)
    for name, value in {
        "COMMENTS_SECRET_KEY": TEST_SECRET,
        "COMMENTS_VAR_DIR": str(settings.var_dir),
        "COMMENTS_DOCS_DIR": str(settings.docs_dir),
        "COMMENTS_SITE_DIR": str(settings.site_dir),
        "COMMENTS_SITE_URL": settings.site_url,
        "COMMENTS_DATABASE_URL": settings.database_url,
        "COMMENTS_IP_HASH_RETENTION_DAYS": LONG_RETENTION,
    }.items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def database(import_settings: Settings) -> Iterator[Database]:
    db = Database(import_settings)
    upgrade(db)
    accounts.create_staff(db, "rowan", "correct horse battery staple",
                          display_name="Dr. Rowan Vale", signature="Clinical editor")
    accounts.create_staff(db, "mira", "correct horse battery staple",
                          display_name="Mira from the team", signature="Community team")
    yield db
    db.dispose()


def run_import(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["import", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def rows(database: Database, system: str) -> dict[str, Comment]:
    with database.read() as session:
        return {c.source_id: c for c in session.scalars(
            select(Comment).where(Comment.source_system == system))}


def snapshot(database: Database) -> tuple[Any, ...]:
    """Everything an import may touch, to show a run changed nothing."""
    with database.read() as session:
        return (
            [tuple(r) for r in session.execute(text("SELECT * FROM comments ORDER BY id"))],
            [tuple(r) for r in session.execute(select(ThreadVersion.article_id,
                                                      ThreadVersion.version))],
            session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(OutboxMail)),
        )


def table_line(out: str, article_id: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(article_id + " "))


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


# WordPress -------------------------------------------------------------------------------


def test_wordpress_import(database: Database, import_settings: Settings, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    mapping = write(tmp_path / "map.yaml", '"77": grief-first-year\n')
    staff = write(tmp_path / "staff.csv", "source,staff\n2,rowan\n")
    code, out, err = run_import(capsys, "wordpress", WXR_12, "--mapping", mapping,
                                "--staff-mapping", staff)
    assert code == 0, err
    # per article: found, imported, then skipped by reason (columns sorted by reason)
    assert "skipped: pingback" in out and "skipped: trash" in out
    header = table_line(out, "article")
    assert header[:3] == ["article", "found", "imported"]
    worry, sleep, grief = (table_line(out, a) for a in (WORRY, SLEEP, GRIEF))
    assert worry[1:3] == ["13", "10"] and sleep[1:3] == ["2", "1"] and grief[1:3] == ["1", "1"]
    assert "'Our summer fundraiser' (https://blog.example.org/2019/06/summer-fundraiser/): " \
           "2 comment(s)" in out
    assert out.startswith(f"wordpress export {WXR_12}: imported 12 comment(s)\n")

    stored = rows(database, "wordpress")
    assert set(stored) == {"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1011",
                           "1012", "1013", "1021", "1041"}
    assert {stored[i].article_id for i in stored} == {WORRY, SLEEP, GRIEF}
    assert stored["1006"].status == CommentStatus.PENDING
    assert stored["1007"].status == CommentStatus.SPAM
    assert stored["1001"].status == CommentStatus.APPROVED

    # staff reply by WordPress user 2, signed by our account
    reply = stored["1002"]
    with database.read() as session:
        rowan = session.scalar(select(StaffUser).where(StaffUser.username == "rowan"))
    assert reply.is_staff and reply.staff_user_id == rowan.id
    assert reply.author_name == "Dr. Rowan Vale"
    assert reply.email_encrypted == "" and reply.ip_hash is None

    # structure: kept, too deep re-attached beside its parent, orphans at the top
    assert reply.parent_id == stored["1001"].id and reply.depth == 1
    assert stored["1003"].parent_id == reply.id and stored["1003"].depth == 2
    assert stored["1004"].parent_id == stored["1003"].id and stored["1004"].depth == 3
    assert stored["1005"].parent_id == stored["1003"].id and stored["1005"].depth == 3
    assert stored["1011"].parent_id is None and stored["1011"].depth == 0
    assert stored["1012"].parent_id is None  # its parent 1006 is only pending
    assert "replies whose parent is not in the export, imported at the top level: 1" in out
    assert "replies nested deeper than 3 levels, attached beside their parent: 1" in out
    assert "published replies to an unpublished comment, moved under the nearest" in out

    # names exact, bodies safe, times UTC
    assert stored["1001"].author_name == "أمل حداد"
    assert stored["1003"].author_name == "王芳"
    assert stored["1004"].author_name == "🌻 Sunny 🌻"
    assert stored["1005"].author_name == "<b>Bold Ben</b> & co"
    body = stored["1003"]
    assert "<script" not in body.body_html and "alert" not in body.body
    assert body.body_html == render_comment(body.body)
    assert '<a href="https://example.org/breathing" rel="nofollow ugc noopener">' in body.body_html
    assert stored["1001"].created_at == datetime(2019, 4, 2, 10, 15, tzinfo=UTC)
    assert stored["1013"].created_at == datetime(2019, 4, 3, 8, 0, tzinfo=UTC)

    # emails encrypted and hashed like new ones, or absent; IPs only as the keyed hash
    keyring = Keyring(import_settings.secret())
    amal = stored["1001"]
    assert keyring.decrypt_email(amal.email_encrypted) == "amal@example.com"
    assert amal.email_hash == keyring.email_hash("amal@example.com")
    assert stored["1021"].email_hash == keyring.email_hash("noor@example.com")
    assert stored["1004"].email_encrypted == "" and stored["1004"].email_hash == ""
    assert amal.ip_hash == keyring.ip_hash("203.0.113.10")
    assert stored["1004"].ip_hash is None
    with database.read() as session:
        dump = repr([tuple(r) for r in session.execute(text("SELECT * FROM comments"))])
    assert "203.0.113.10" not in dump and "amal@example.com" not in dump

    # urgent flagged as a new comment would be; no mail of any kind
    assert stored["1005"].urgent and not stored["1001"].urgent
    assert all(c.notified and not c.notify for c in stored.values())
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 0
        queued = set(session.scalars(select(BakeRequest.article_id)))
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert queued == {WORRY, SLEEP, GRIEF}
    assert audit.actor.startswith("cli:") and "12 comment(s)" in audit.after

    # the approved ones are in the public thread, staff reply with its signature
    with app_client(import_settings) as client:
        thread = client.get(f"/api/articles/{WORRY}/comments").json()
    by_author = {c["author"]: c for c in thread["comments"]}
    approved = [c for c in stored.values() if c.article_id == WORRY
                and c.status == CommentStatus.APPROVED]
    assert thread["count"] == len(approved) == 8
    staff_reply = by_author["Dr. Rowan Vale"]
    assert staff_reply["staff"] and staff_reply["signature"] == "Clinical editor"
    assert staff_reply["parent_id"] == amal.id
    assert "Pending Pat" not in by_author and "Best Pills" not in by_author
    assert "amal@example.com" not in repr(thread)

    # a second run of the same file changes nothing
    before = snapshot(database)
    code, again, err = run_import(capsys, "wordpress", WXR_12, "--mapping", mapping,
                                  "--staff-mapping", staff)
    assert code == 0, err
    assert snapshot(database) == before
    assert again.startswith(f"wordpress export {WXR_12}: imported 0 comment(s)")
    assert "skipped: already imported" in again


def test_dry_run_prints_the_same_table_and_changes_nothing(
        database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = snapshot(database)
    code, dry, err = run_import(capsys, "wordpress", WXR_12, "--dry-run")
    assert code == 0, err
    assert snapshot(database) == before
    assert dry.startswith(f"wordpress export {WXR_12}: would import 11 comment(s) "
                          "(dry run: nothing was changed)")
    code, real, err = run_import(capsys, "wordpress", WXR_12)
    assert code == 0, err

    def body(out: str) -> list[str]:  # the table, unmatched threads and notes
        return [line for line in out.splitlines()[1:] if not line.startswith("Queued")]

    assert body(real) == body(dry)
    # without the mapping file, post 77 is an unmatched thread and nothing goes elsewhere
    assert "'Grief in the first year' (https://blog.example.org/?p=77): 1 comment(s)" in real
    assert GRIEF not in {c.article_id for c in rows(database, "wordpress").values()}


def test_wxr_11_staff_without_mapping_import_as_readers_and_are_reported(
        database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, "wordpress", WXR_11)
    assert code == 0, err
    stored = rows(database, "wordpress")
    assert {c.article_id for c in stored.values()} == {GP}  # matched by URL path
    dana = stored["2002"]
    assert not dana.is_staff and dana.author_name == "Dana Lee"
    assert dana.parent_id == stored["2001"].id
    assert "signed-in source accounts without a staff mapping: user 1 (dlee) (1)" in out
    assert "No --staff-mapping given" in out
    assert stored["2001"].created_at == datetime(2012, 11, 6, 2, 30, tzinfo=UTC)


def test_names_that_show_nothing_become_anonymous(database: Database, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "export.xml", WXR_11.read_text(encoding="utf-8").replace(
        "<![CDATA[Quiet Reader]]>", "<![CDATA[\u200b\u200d ]]>"))
    code, out, err = run_import(capsys, "wordpress", source)
    assert code == 0, err
    assert rows(database, "wordpress")["2003"].author_name == "Anonymous"
    assert "comments without a name, shown as 'Anonymous': 1" in out


def test_ip_hashes_older_than_the_retention_window_are_not_stored(
        database: Database, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTS_IP_HASH_RETENTION_DAYS", "30")
    assert run_import(capsys, "wordpress", WXR_11)[0] == 0
    assert all(c.ip_hash is None for c in rows(database, "wordpress").values())


# Disqus and Isso --------------------------------------------------------------------------


def test_disqus_import(database: Database, import_settings: Settings, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    staff = write(tmp_path / "staff.yaml", "team_mira: mira\n")
    code, out, err = run_import(capsys, "disqus", DISQUS, "--staff-mapping", staff)
    assert code == 0, err
    stored = rows(database, "disqus")
    # http and https, with query string and fragment, slash or not: one article's thread
    assert {c.article_id for c in stored.values()} == {WORRY}
    assert set(stored) == {"8001", "8002", "8003", "8004", "8005", "8006", "8007", "8009"}
    assert "'Open day 2020' (https://old.example.net/events/open-day/): 1 comment(s)" in out
    assert "1 comment(s) skipped: thread not in the export" in out
    assert stored["8005"].status == CommentStatus.DELETED
    assert stored["8004"].status == CommentStatus.SPAM
    assert stored["8006"].parent_id is None  # its parent was deleted
    mira = stored["8003"]
    assert mira.is_staff and mira.author_name == "Mira from the team"
    assert mira.parent_id == stored["8002"].id
    guest = stored["8007"]
    assert guest.author_name == "😀 Ana & <i>friends</i>" and guest.email_hash == ""
    assert "<script" not in guest.body_html and "document.write" not in guest.body

    with app_client(import_settings) as client:
        thread = client.get(f"/api/articles/{WORRY}/comments").json()
    assert thread["count"] == 6
    signed = [c for c in thread["comments"] if c["staff"]]
    assert [c["signature"] for c in signed] == ["Community team"]


def test_isso_import(database: Database, import_settings: Settings, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    source = build_isso(tmp_path / "isso.db")
    before = source.read_bytes()
    staff = write(tmp_path / "staff.csv",
                  "source,staff,email\nMira from the team,mira,mira@publisher.example\n")
    code, out, err = run_import(capsys, "isso", source, "--staff-mapping", staff)
    assert code == 0, err
    assert source.read_bytes() == before  # read-only
    stored = rows(database, "isso")
    assert {c.article_id for c in stored.values()} == {WORRY, SLEEP}
    assert stored["2"].is_staff and stored["2"].parent_id == stored["1"].id
    assert not stored["3"].is_staff  # the same name with another address is a reader
    assert stored["3"].author_name == "Mira from the team"
    assert stored["4"].status == CommentStatus.PENDING
    assert stored["5"].status == CommentStatus.DELETED and stored["5"].body == ""
    assert stored["6"].parent_id is None
    anonymous = stored["7"]
    assert anonymous.author_name == "Anonymous" and anonymous.email_hash == ""
    assert "'A page that no longer exists' (/old-page/): 1 comment(s)" in out
    assert stored["1"].body == ("Hello **world**.\n\nThe worry guide "
                                "(https://example.org/worry-guide) helped.\n> a quoted line\nmine")


def test_isso_staff_mapping_needs_an_email(database: Database, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    staff = write(tmp_path / "staff.csv", "source,staff\nMira from the team,mira\n")
    code, _, err = run_import(capsys, "isso", build_isso(tmp_path / "isso.db"),
                              "--staff-mapping", staff)
    assert code == 1
    assert f"{staff}:2: email: Isso comments have no accounts" in err
    assert rows(database, "isso") == {}


# Re-baking, progress, conflicts -------------------------------------------------------------


def test_import_rebakes_the_pages_in_the_site_folder(
        database: Database, import_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    page = import_settings.site_dir / WORRY / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(f'<html><body><!-- comments:begin article="{WORRY}" --><p>old</p>'
                    f'<!-- comments:end article="{WORRY}" --></body></html>', encoding="utf-8")
    code, out, err = run_import(capsys, "disqus", DISQUS)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert "Lena Fischer" in html and "<p>old</p>" not in html
    assert "Re-baked 1 page(s) in the site folder." in out


def test_large_imports_show_progress(database: Database, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    comment = ("<wp:comment><wp:comment_id>{id}</wp:comment_id><wp:comment_author>Reader {id}"
               "</wp:comment_author><wp:comment_date_gmt>2020-01-01 00:00:{s:02d}"
               "</wp:comment_date_gmt><wp:comment_content><![CDATA[Comment number {id}. "
               + "Padding text. " * 60 + "]]></wp:comment_content><wp:comment_approved>1"
               "</wp:comment_approved><wp:comment_parent>0</wp:comment_parent></wp:comment>")
    items = "".join(comment.format(id=i, s=i % 60) for i in range(1, 1201))
    source = write(tmp_path / "large.xml",
                   '<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/">'
                   f"<channel><item><title>Worry</title><link>https://x.example/{WORRY}/"
                   f"</link><wp:post_id>1</wp:post_id>{items}</item></channel></rss>")
    assert source.stat().st_size > 1 << 20
    code, out, err = run_import(capsys, "wordpress", source)
    assert code == 0, err
    assert "import: reading large.xml: 100%" in err
    assert "import: storing comments: 50%" in err and "storing comments: 100%" in err
    assert table_line(out, WORRY)[1:3] == ["1200", "1200"]


def test_a_different_comment_under_a_stored_source_id_is_reported_not_changed(
        database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with database.write() as session:
        session.add(Comment(article_id=WORRY, author_name="From another site", body="x",
                            body_html="<p>x</p>", status=CommentStatus.APPROVED,
                            source_system="wordpress", source_id="1001",
                            created_at=datetime(2015, 1, 1, tzinfo=UTC)))
    code, out, _ = run_import(capsys, "wordpress", WXR_12)
    assert code == 0
    assert "skipped: id already used by another comment" in out
    stored = rows(database, "wordpress")
    assert stored["1001"].author_name == "From another site"
    assert stored["1002"].parent_id is None  # not hung from the other site's comment


# Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.xml", r"missing\.xml: no such file"),
    (lambda d: write(d / "bad.xml", '<?xml version="1.0"?>\n<rss>\n<channel></rss>'),
     r"bad\.xml:3: malformed XML: mismatched tag"),
    (lambda d: write(d / "bomb.xml", '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aa">]>'
                     "\n<rss>&a;</rss>"), r"bomb\.xml:2: refused: the file has a DOCTYPE"),
])
def test_source_file_problems(database: Database, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str], make: Any,
                              message: str) -> None:
    path = make(tmp_path)
    code, out, err = run_import(capsys, "wordpress", path)
    assert code == 1 and out == ""
    assert err.startswith(f"import: {tmp_path}/")
    assert re.search(message, err), err


@pytest.mark.parametrize("name, content, message", [
    ("map.csv", "source,article\n77,no-such-article\n",
     ":2: article: there is no article with id 'no-such-article'"),
    ("map.csv", "from,to\n77,grief-first-year\n",
     ":1: the header row must name the columns source, article"),
    ("map.csv", "source,article\n77,grief-first-year\n77,sleep-and-mood\n",
     ":3: source: '77' is already mapped to 'grief-first-year' on line 2"),
    ("map.yaml", '"77": grief-first-year\n"78": [a, b]\n', ":2: article: must be a single value"),
    ("map.yaml", '"77": grief-first-year\n  bad: indent\n', ":2: is not valid YAML"),
    ("map.txt", "77,grief-first-year\n", ": use a .csv, .yaml or .yml file"),
])
def test_mapping_file_problems_name_the_line_and_field(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
        content: str, message: str) -> None:
    mapping = write(tmp_path / name, content)
    code, _, err = run_import(capsys, "wordpress", WXR_12, "--mapping", mapping)
    assert code == 1
    assert f"import: {mapping}{message}" in err, err
    assert rows(database, "wordpress") == {}


def test_unknown_staff_account_is_refused_before_anything_is_stored(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staff = write(tmp_path / "staff.csv", "source,staff\n2,rowan\n5,nobody\n")
    code, _, err = run_import(capsys, "wordpress", WXR_12, "--staff-mapping", staff)
    assert code == 1
    assert f"{staff}:3: staff: there is no staff account named 'nobody'" in err
    assert rows(database, "wordpress") == {}


def test_unknown_source_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["import", "blogger", str(WXR_12)])
    assert caught.value.code == 2
    assert "invalid choice: 'blogger'" in capsys.readouterr().err


# The migration --------------------------------------------------------------------------------


def test_migration_0004_keeps_existing_comments_and_downgrades(import_settings: Settings
                                                               ) -> None:
    database = Database(import_settings)
    config = alembic_config(database)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
            connection.execute(text(
                "INSERT INTO comments (article_id, depth, author_name, email_encrypted, "
                "email_hash, body, body_html, body_hash, status, urgent, is_staff, "
                "created_at, updated_at, notify, erased, notified) VALUES ('a', 0, 'Old', '',"
                " '', 'b', '<p>b</p>', '', 'approved', false, false, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, false, false, true)"))
            command.upgrade(config, "0004")
            assert connection.execute(text(
                "SELECT author_name, source_system, source_id FROM comments")).one() == (
                "Old", None, None)
            command.downgrade(config, "0003")
            columns = {c["name"] for c in inspect(connection).get_columns("comments")}
            assert "source_system" not in columns and "source_id" not in columns
            assert connection.execute(text("SELECT author_name FROM comments")).scalar_one() \
                == "Old"
    finally:
        database.dispose()
