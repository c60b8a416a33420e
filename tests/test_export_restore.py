"""Moving out and back: export every table, restore it exactly, or merge without overwriting."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from archive_support import ROBIN_EMAIL, Library, cli, extra_pg_database, opened, populate
from conftest import make_settings
from pydantic import SecretStr
from service_support import OPEN, app_client, post, write_docs
from sqlalchemy import func, select
from staff_support import PASSWORD, AuthActions, fast_hashing  # noqa: F401 - autouse fixture

from comments_service.config import Settings
from comments_service.store.models import Comment, EmailSubscriber, ReplyTemplate
from comments_service.verbs import privacy
from comments_service.verbs.archive.document import Options
from comments_service.verbs.archive.export import build_document
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "comments_service" / "verbs"
                     / "archive" / "export.schema.json").read_text())
OTHER_SECRET = "a-different-secret-key-for-the-new-host-987654321"
FULL = ("--with-emails", "--with-secrets")


@pytest.fixture
def source(backend_settings: Settings, tmp_path: Path) -> Settings:
    docs = write_docs(tmp_path / "docs")
    return backend_settings.model_copy(update={"docs_dir": docs, "rate_limit_count": 100})


@pytest.fixture
def target(source: Settings, tmp_path: Path, request: pytest.FixtureRequest
           ) -> Iterator[Settings]:
    """A second, empty database on the same backend as the source."""
    var = tmp_path / "target"
    if source.is_sqlite:
        yield source.model_copy(update={"var_dir": var})
        return
    with extra_pg_database(request.getfixturevalue("pg_server")) as url:
        yield source.model_copy(update={"var_dir": var, "database_url": url})


@pytest.fixture
def library(source: Settings) -> Library:
    return populate(source)


def export(settings: Settings, path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str], *flags: str) -> bytes:
    code, _out, err = cli(settings, monkeypatch, capsys, "export", str(path), *flags)
    assert code == 0, err
    return path.read_bytes()


def thread(settings: Settings, article_id: str = OPEN) -> dict[str, Any]:
    with app_client(settings) as client:
        response = client.get(f"/api/articles/{article_id}/comments")
        assert response.status_code == 200
        return response.json()


@pytest.mark.parametrize("flags", [(), FULL], ids=["hashed", "with-emails-and-secrets"])
def test_restore_into_an_empty_database_reproduces_the_export_byte_for_byte(
    source: Settings, target: Settings, library: Library, tmp_path: Path, flags: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    first = export(source, tmp_path / "first.json", monkeypatch, capsys, *flags)
    code, out, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "first.json"))
    assert code == 0, err
    assert "comments 10" in out
    again = export(target, tmp_path / "again.json", monkeypatch, capsys, *flags)
    assert again == first
    # Readers see the same thread, ids included, and the next comment gets a fresh id.
    assert thread(target) == thread(source)
    with app_client(target) as client:
        response = post(client, OPEN, body="A first comment on the new host.")
        assert response.status_code == 202, response.text
        assert response.json()["id"] == library.pending + 1


def test_the_export_carries_every_status_and_matches_its_json_schema(
    source: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for flags in ((), FULL):
        document = json.loads(export(source, tmp_path / "x.json", monkeypatch, capsys, *flags))
        jsonschema.validate(document, SCHEMA)
        tables = document["tables"]
        assert {c["status"] for c in tables["comments"]} == {
            "pending", "approved", "rejected", "spam", "deleted"}
        assert [c["id"] for c in tables["comments"]] == sorted(c["id"] for c in tables["comments"])
        assert {c["id"] for c in tables["comments"] if c["erased"]} == {
            library.erased_kept, library.erased_removed}
        assert any(c["is_staff"] and c["id"] == library.staff_reply for c in tables["comments"])
        assert any(c["urgent"] for c in tables["comments"])
        assert "Welcome back" in {t["name"] for t in tables["reply_templates"]}
        assert {e["action"] for e in tables["audit_entries"]} >= {
            "approve", "reject", "spam", "delete", "edit", "reply", "erase"}
        assert len(tables["email_subscribers"]) == 1
        assert {"outbox", "staff_sessions", "comments.email_encrypted"} <= set(
            document["excluded"])
        assert not {"outbox", "staff_sessions", "login_attempts"} & set(tables)
        assert document["articles"] == sorted(document["articles"])


def test_without_flags_the_file_holds_no_address_and_no_password_hash(
    source: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    hashed = export(source, tmp_path / "hashed.json", monkeypatch, capsys).decode()
    assert "@example.org" not in hashed
    assert "$argon2" not in hashed
    assert (tmp_path / "hashed.json").stat().st_mode & 0o077 == 0
    full = export(source, tmp_path / "full.json", monkeypatch, capsys, *FULL).decode()
    assert "reader0@example.org" in full and ROBIN_EMAIL in full
    assert "$argon2" in full


def test_a_hashed_export_restores_comments_without_a_readable_address(
    source: Settings, target: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    export(source, tmp_path / "hashed.json", monkeypatch, capsys)
    code, out, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "hashed.json"))
    assert code == 0, err
    assert "restored without a password" in out
    with opened(target) as database:
        keyring = Keyring(target.secret())
        # Same key: the keyed hashes still find the commenter, but no address is stored.
        data = privacy.export_by_email(database, keyring, "reader0@example.org",
                                       Actor.operator("test"))
        assert len(data["comments"]) == 2
        assert {c["email"] for c in data["comments"]} == {""}
    with app_client(target) as client:
        client.follow_redirects = False
        assert AuthActions(client).sign_in("robin", PASSWORD).status_code != 303
        assert client.get("/staff/").status_code == 303  # still signed out


def test_clear_emails_follow_a_new_secret_key_and_secrets_keep_sign_in_working(
    source: Settings, target: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    export(source, tmp_path / "full.json", monkeypatch, capsys, *FULL)
    new_host = target.model_copy(update={"secret_key": SecretStr(OTHER_SECRET)})
    code, _, err = cli(new_host, monkeypatch, capsys, "restore", str(tmp_path / "full.json"))
    assert code == 0, err
    with opened(new_host) as database:
        keyring = Keyring(new_host.secret())
        data = privacy.export_by_email(database, keyring, library.subscribed_email,
                                       Actor.operator("test"))
        assert {c["email"] for c in data["comments"]} == {library.subscribed_email}
        assert data["mail_subscription"] is not None  # re-keyed with the address
        with database.read() as session:
            assert session.scalar(select(func.count()).select_from(EmailSubscriber)) == 1
    with app_client(new_host) as client:
        client.follow_redirects = False
        auth = AuthActions(client)
        assert auth.sign_in("robin", PASSWORD).status_code == 303
        assert client.get("/staff/").status_code == 200
    with opened(new_host) as database:
        # What the moderation queue shows staff: the address, decrypted under the new key.
        item = Moderation(database, Keyring(new_host.secret())).item(library.pending)
        assert item.email == library.subscribed_email


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(
    source: Settings, target: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    export(source, tmp_path / "first.json", monkeypatch, capsys)
    with app_client(target) as client:
        assert post(client, OPEN, body="Already here on the new host.").status_code == 202
    before = export(target, tmp_path / "before.json", monkeypatch, capsys)
    code, _out, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "first.json"))
    assert code == 1
    assert "is not empty (comments: 1 row(s))" in err and "--merge" in err
    assert export(target, tmp_path / "after.json", monkeypatch, capsys) == before


def test_merge_adds_what_is_missing_and_never_overwrites(
    source: Settings, target: Settings, library: Library, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    export(source, tmp_path / "first.json", monkeypatch, capsys)
    with app_client(target) as client:
        # Takes id 1 on the new host, which the export uses for another comment.
        assert post(client, OPEN, body="Written on the new host first.").status_code == 202
    code, out, err = cli(target, monkeypatch, capsys, "restore", "--merge",
                         str(tmp_path / "first.json"))
    assert code == 0, err
    assert "clash: tables.comments[0]: comments 1 is stored already" in out
    with opened(target) as database, database.read() as session:
        assert session.get(Comment, 1).body == "Written on the new host first."
        # Replies to the clashing comment would hang under the wrong one: left out, reported.
        replies = session.scalars(select(Comment.id).where(Comment.parent_id == 1)).all()
        assert replies == []
        assert session.get(Comment, library.erased_kept) is not None
    assert "parent_id refers to comments 1" in out
    # A second merge finds everything stored: nothing added, the same clashes reported.
    before = export(target, tmp_path / "before.json", monkeypatch, capsys)
    code, out, err = cli(target, monkeypatch, capsys, "restore", "--merge",
                         str(tmp_path / "first.json"))
    assert code == 0, err
    assert "comments 0" in out
    assert export(target, tmp_path / "after.json", monkeypatch, capsys) == before


def _break(document: dict[str, Any], how: str) -> str:
    """Damage the document one way; returns the field the error must name."""
    comments = document["tables"]["comments"]
    if how == "status":
        comments[3]["status"] = "published"
        return "tables.comments[3].status: must be one of pending, approved"
    if how == "version":
        document["version"] = 2
        return "version: this release reads version 1 documents, not 2"
    if how == "missing":
        del comments[2]["body"]
        return "tables.comments[2].body: is missing"
    if how == "time":
        comments[1]["created_at"] = "yesterday"
        return "tables.comments[1].created_at: must be an ISO-8601 UTC time"
    if how == "unknown-column":
        comments[0]["colour"] = "blue"
        return "tables.comments[0].colour: is not a column of comments"
    if how == "duplicate":
        comments[4]["id"] = comments[5]["id"]
        return "tables.comments[5].id: duplicates tables.comments[4]"
    if how == "dangling-parent":
        comments[-1]["parent_id"] = 999
        return f"tables.comments[{len(comments) - 1}].parent_id: refers to comments 999"
    if how == "newer-release":
        document["schema_revisions"].append("9999")
        return "schema_revisions: 9999 unknown to this release"
    if how == "encrypted":
        comments[0]["email_encrypted"] = "gAAAA"
        return "tables.comments[0].email_encrypted: is left out of exports"
    raise AssertionError(how)


@pytest.fixture(scope="module")
def good_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real export (hashed), made once for the tests that damage copies of it."""
    folder = tmp_path_factory.mktemp("good")
    source = make_settings(folder, docs_dir=write_docs(folder / "docs"), rate_limit_count=100)
    populate(source)
    with opened(source) as database:
        return build_document(database, Keyring(source.secret()), Options())


@pytest.mark.parametrize("how", ["status", "version", "missing", "time", "unknown-column",
                                 "duplicate", "dangling-parent", "encrypted",
                                 "newer-release"])
def test_a_malformed_document_is_refused_naming_the_field_and_changes_nothing(
    good_document: dict[str, Any], tmp_path: Path, how: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    document = copy.deepcopy(good_document)
    field = _break(document, how)
    (tmp_path / "bad.json").write_text(json.dumps(document))
    target = make_settings(tmp_path / "target")
    code, _out, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "bad.json"))
    assert code == 1
    assert field in err and "nothing was changed" in err
    if how != "dangling-parent":  # found by reading the document alone: no database touched
        assert not (target.var_dir / "comments.db").exists()
    with opened(target) as database, database.read() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
        # The templates the migrations seeded are still there: the transaction rolled back.
        assert session.scalar(select(func.count()).select_from(ReplyTemplate)) == 2


def test_a_file_that_is_not_json_is_refused(
    settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    code, _out, err = cli(settings, monkeypatch, capsys, "restore", str(tmp_path / "bad.json"))
    assert code == 2 and "not a JSON document" in err


@pytest.mark.postgres
def test_a_sqlite_library_moves_to_postgresql_unchanged(
    settings: Settings, pg_database_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    source = settings.model_copy(update={"docs_dir": write_docs(tmp_path / "docs"),
                                         "rate_limit_count": 100})
    populate(source)
    first = export(source, tmp_path / "first.json", monkeypatch, capsys, *FULL)
    target = source.model_copy(update={"database_url": pg_database_url,
                                       "var_dir": tmp_path / "pg"})
    code, _, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "first.json"))
    assert code == 0, err
    assert export(target, tmp_path / "again.json", monkeypatch, capsys, *FULL) == first
    assert thread(target) == thread(source)


def test_an_older_export_without_a_newer_column_restores_with_its_default(
    good_document: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    document = copy.deepcopy(good_document)
    for comment in document["tables"]["comments"]:
        del comment["notified"]  # as if written before the column existed
    (tmp_path / "older.json").write_text(json.dumps(document))
    target = make_settings(tmp_path / "target")
    code, _, err = cli(target, monkeypatch, capsys, "restore", str(tmp_path / "older.json"))
    assert code == 0, err
    with opened(target) as database, database.read() as session:
        assert session.scalars(select(Comment.notified).distinct()).all() == [False]


def test_a_hashed_export_under_a_new_secret_key_says_addresses_no_longer_match(
    good_document: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "hashed.json").write_text(json.dumps(good_document))
    new_host = make_settings(tmp_path / "new", secret_key=OTHER_SECRET)
    code, out, err = cli(new_host, monkeypatch, capsys, "restore", str(tmp_path / "hashed.json"))
    assert code == 0, err
    assert "made with another secret key" in out
    with opened(new_host) as database:
        found = privacy.export_by_email(database, Keyring(new_host.secret()),
                                        "reader0@example.org", Actor.operator("test"))
        assert found["comments"] == []
