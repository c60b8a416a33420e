"""Staff accounts: password hashing, sign-in, rate limits, sessions, disabling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_settings
from sqlalchemy import select, update
from staff_support import PASSWORD, fast_hashing, keyring_for, make_staff  # noqa: F401

from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import LoginAttempt, StaffSession, StaffUser, utcnow
from comments_service.verbs import accounts


def test_passwords_are_stored_as_argon2id_hashes(database: Database) -> None:
    make_staff(database)
    with database.read() as session:
        stored = session.scalar(select(StaffUser.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_with_the_right_password_opens_a_session(database: Database) -> None:
    make_staff(database)
    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    again = accounts.session_for(database, signed_in.token)
    assert again is not None and again.user.username == "mod"
    assert again.csrf_token == signed_in.csrf_token


def test_session_table_holds_a_hash_not_the_cookie_token(database: Database) -> None:
    make_staff(database)
    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    with database.read() as session:
        stored = session.scalar(select(StaffSession.token_hash))
    assert stored != signed_in.token and len(stored) == 64


@pytest.mark.parametrize(("username", "password"), [("mod", "wrong password here"),
                                                    ("nobody", PASSWORD)])
def test_wrong_credentials_get_the_same_generic_error(database: Database, username: str,
                                                       password: str) -> None:
    make_staff(database)
    with pytest.raises(accounts.SignInError) as raised:
        accounts.sign_in(database, keyring_for(database), username, password, "192.0.2.1")
    assert str(raised.value) == accounts.SIGN_IN_ERROR


def test_an_address_is_locked_out_of_an_account_after_too_many_failures(
    database: Database,
) -> None:
    make_staff(database, "mod")
    make_staff(database, "other")
    keyring = keyring_for(database)
    for _ in range(database.settings.login_max_failures):
        with pytest.raises(accounts.SignInError):
            accounts.sign_in(database, keyring, "mod", "wrong password here", "192.0.2.1")
    # Refused even with the right password, so guessing on gains nothing.
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")


def test_a_strangers_failures_do_not_lock_the_moderator_out(database: Database) -> None:
    make_staff(database, "mod")
    keyring = keyring_for(database)
    for number in range(3):
        for _ in range(database.settings.login_max_failures):
            with pytest.raises(accounts.SignInError):
                accounts.sign_in(database, keyring, "mod", "wrong password here",
                             f"203.0.113.{number}")
    assert accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1").user.username == "mod"


def test_a_guessing_campaign_from_many_addresses_locks_the_account(tmp_path: Path) -> None:
    database = Database(make_settings(tmp_path, login_max_account_failures=8))
    upgrade(database)
    try:
        make_staff(database, "mod")
        keyring = keyring_for(database)
        for number in range(8):
            with pytest.raises(accounts.SignInError):
                accounts.sign_in(database, keyring, "mod", "wrong password here",
                             f"203.0.113.{number}")
        with pytest.raises(accounts.SignInError):
            accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")
    finally:
        database.dispose()


def test_ip_is_limited_across_accounts(database: Database) -> None:
    make_staff(database, "mod")
    keyring = keyring_for(database)
    for number in range(database.settings.login_max_failures):
        with pytest.raises(accounts.SignInError):
            accounts.sign_in(database, keyring, f"guess{number}", "wrong password here",
                             "192.0.2.9")
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.9")
    assert accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.10").user.username == "mod"


def test_failures_older_than_the_window_no_longer_count(database: Database) -> None:
    make_staff(database)
    keyring = keyring_for(database)
    for _ in range(database.settings.login_max_failures):
        with pytest.raises(accounts.SignInError):
            accounts.sign_in(database, keyring, "mod", "wrong password here", "192.0.2.1")
    with database.write() as session:
        session.execute(update(LoginAttempt).values(
            created_at=utcnow() - timedelta(seconds=database.settings.login_window_seconds + 1)))
    assert accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")


def test_failed_attempts_store_ip_hashes_not_addresses(database: Database) -> None:
    make_staff(database)
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring_for(database), "mod", "wrong password here",
                         "192.0.2.77")
    with database.read() as session:
        keys = list(session.scalars(select(LoginAttempt.key)))
    assert "user:mod" in keys
    assert not any("192.0.2.77" in key for key in keys)


def test_disabled_staff_cannot_sign_in_and_their_sessions_end(database: Database) -> None:
    make_staff(database)
    keyring = keyring_for(database)
    signed_in = accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")
    accounts.set_disabled(database, "mod")
    assert accounts.session_for(database, signed_in.token) is None
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")


def test_expired_session_is_refused(database: Database) -> None:
    make_staff(database)
    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    with database.write() as session:
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert accounts.session_for(database, signed_in.token) is None


def test_new_password_works_and_ends_old_sessions(database: Database) -> None:
    make_staff(database)
    keyring = keyring_for(database)
    old = accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")
    accounts.set_password(database, "mod", "a brand new long password")
    assert accounts.session_for(database, old.token) is None
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(database, keyring, "mod", PASSWORD, "192.0.2.1")
    assert accounts.sign_in(database, keyring, "mod", "a brand new long password", "192.0.2.1")


def test_sign_out_ends_the_session(database: Database) -> None:
    make_staff(database)
    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    accounts.sign_out(database, signed_in.token)
    assert accounts.session_for(database, signed_in.token) is None


@pytest.mark.parametrize(("field", "kwargs"), [
    ("username", {"username": "Bad Name!"}),
    ("password", {"password": "short"}),
    ("display_name", {"display_name": "   "}),
    ("role", {"role": "owner"}),
])
def test_bad_account_input_names_the_field(database: Database, field: str,
                                           kwargs: dict[str, str]) -> None:
    values = {"username": "mod", "password": PASSWORD, "display_name": "Sam", "role": "admin"}
    values.update(kwargs)
    with pytest.raises(accounts.AccountError) as raised:
        accounts.create_staff(database, values.pop("username"), values.pop("password"), **values)
    assert raised.value.field == field
    assert accounts.list_staff(database) == []


def test_usernames_are_unique(database: Database) -> None:
    make_staff(database)
    with pytest.raises(accounts.AccountError, match="already taken"):
        make_staff(database)


def test_csrf_check_needs_the_sessions_own_token(database: Database) -> None:
    make_staff(database)
    signed_in = accounts.sign_in(database, keyring_for(database), "mod", PASSWORD, "192.0.2.1")
    assert accounts.csrf_ok(signed_in, signed_in.csrf_token)
    assert not accounts.csrf_ok(signed_in, "")
    assert not accounts.csrf_ok(signed_in, signed_in.csrf_token[:-1] + "x")
    assert not accounts.csrf_ok(None, signed_in.csrf_token)
