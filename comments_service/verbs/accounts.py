"""Staff accounts: argon2id passwords, sign-in with rate limits, sessions and CSRF tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.store.database import Database
from comments_service.store.models import (
    Comment,
    LoginAttempt,
    StaffRole,
    StaffSession,
    StaffUser,
    utcnow,
)
from comments_service.store.thread_versions import touch_thread
from comments_service.verbs.keyring import Keyring

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME = 80
MAX_SIGNATURE = 500

class _Argon2:
    """argon2-cffi's PasswordHasher, imported on first use.

    Only sign-in and password changes hash; a worker that serves readers never needs the
    library (benchmarks/README.md, "What each library costs a worker").
    """

    def __init__(self) -> None:
        self._hasher: Any = None

    def _real(self) -> Any:
        if self._hasher is None:
            from argon2 import PasswordHasher

            # argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" profile.
            self._hasher = PasswordHasher()
        return self._hasher

    def hash(self, password: str) -> str:
        return str(self._real().hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        return bool(self._real().verify(password_hash, password))


# Tests put a cheaper PasswordHasher in its place (staff_support.py).
_hasher: Any = _Argon2()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a miss costs as much time as a
    # wrong password and response times do not reveal which accounts exist. Made on first
    # use, not at import: hashing costs ~0.2 s of CPU in every worker that starts.
    return _hasher.hash(secrets.token_urlsafe(16))


SIGN_IN_ERROR = "Sign-in failed. Check your user name and password, or try again later."


class AccountError(i18n.Refusal):
    """Bad input for a staff account; ``field`` names the offending field (i18n.Refusal)."""


class SignInError(Exception):
    """A refused sign-in. The message is the same whatever the reason."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_ERROR)


@dataclass(frozen=True)
class SignedIn:
    """A live staff session: the account, its CSRF token and the raw cookie token."""

    user: StaffUser
    csrf_token: str
    token: str

    @property
    def is_admin(self) -> bool:
        return self.user.role == StaffRole.ADMIN


def hash_password(password: str) -> str:
    """An argon2id hash of the password, after checking its length."""
    _check_password(password)
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (False for a malformed hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _clean_profile(display_name: str, signature: str) -> tuple[str, str]:
    display_name = " ".join(display_name.split())
    if not display_name:
        raise AccountError("display_name", "must not be blank")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise AccountError("display_name", f"must be at most {MAX_DISPLAY_NAME} characters")
    signature = signature.strip()
    if len(signature) > MAX_SIGNATURE:
        raise AccountError("signature", f"must be at most {MAX_SIGNATURE} characters")
    return display_name, signature


def create_staff(
    database: Database,
    username: str,
    password: str,
    *,
    display_name: str,
    signature: str = "",
    role: StaffRole | str = StaffRole.MODERATOR,
    email: str = "",
) -> StaffUser:
    """Add a staff account. Raises AccountError naming the field on bad input."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError(
            "username", "use 2-64 lowercase letters, digits, dots, hyphens or underscores"
        )
    try:
        role = StaffRole(role)
    except ValueError:
        raise AccountError("role", "must be moderator or admin") from None
    display_name, signature = _clean_profile(display_name, signature)
    password_hash = hash_password(password)
    with database.write() as session:
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            raise AccountError("username", f"'{username}' is already taken")
        user = StaffUser(
            username=username,
            display_name=display_name,
            signature=signature,
            role=role,
            email=email.strip(),
            password_hash=password_hash,
            disabled=False,
        )
        session.add(user)
        session.flush()
        return user


def get_staff(session: Session, username: str) -> StaffUser | None:
    """The account with this username, or None."""
    return session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))


def list_staff(database: Database) -> list[StaffUser]:
    """Every staff account, enabled or not, by username."""
    with database.read() as session:
        return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def _require(session: Session, username: str) -> StaffUser:
    user = get_staff(session, username)
    if user is None:
        raise AccountError("username", f"no staff account named '{username}'")
    return user


def set_password(database: Database, username: str, password: str) -> None:
    """Replace a password; every session of the account ends, so an old one cannot linger."""
    password_hash = hash_password(password)
    with database.write() as session:
        user = _require(session, username)
        user.password_hash = password_hash
        session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))


def set_disabled(database: Database, username: str, disabled: bool = True) -> None:
    """Disable (or re-enable) an account. Disabling ends its sessions at once."""
    with database.write() as session:
        user = _require(session, username)
        user.disabled = disabled
        if disabled:
            session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))


def update_profile(
    database: Database, username: str, *, display_name: str, signature: str
) -> None:
    """Change the name and signature shown on an account's staff replies."""
    display_name, signature = _clean_profile(display_name, signature)
    with database.write() as session:
        user = _require(session, username)
        user.display_name = display_name
        user.signature = signature
        # Public threads show these live from the account, so every thread holding one of
        # this account's replies must drop its cached JSON and be re-baked.
        article_ids = session.scalars(
            select(Comment.article_id).where(Comment.staff_user_id == user.id).distinct()
        ).all()
        for article_id in article_ids:
            touch_thread(session, article_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _attempt_keys(username: str, ip_hash: str) -> tuple[str, str, str]:
    account = username.strip().lower()[:100]
    return f"user:{account}", f"ip:{ip_hash}", f"pair:{account}:{ip_hash}"


def sign_in(
    database: Database, keyring: Keyring, username: str, password: str, ip: str
) -> SignedIn:
    """Check credentials and open a session; raises SignInError with one generic message.

    Failures are counted per address on one account, per address across accounts, and per
    account across addresses; past a limit in the window every attempt is refused, even
    with the right password, so guessing gains nothing. The per-account limit is the
    larger one (login_max_account_failures): a stranger failing a few times must not lock
    a moderator out, only a guessing campaign from many addresses does.
    """
    settings = database.settings
    now = utcnow()
    user_key, ip_key, pair_key = _attempt_keys(username, keyring.ip_hash(ip))
    since = now - timedelta(seconds=settings.login_window_seconds)
    with database.read() as session:
        failures = dict(
            session.execute(
                select(LoginAttempt.key, func.count())
                .where(LoginAttempt.key.in_((user_key, ip_key, pair_key)),
                       LoginAttempt.created_at > since)
                .group_by(LoginAttempt.key)
            ).all()
        )
        user = get_staff(session, username) if username.strip() else None
    limited = (
        max(failures.get(ip_key, 0), failures.get(pair_key, 0)) >= settings.login_max_failures
        or failures.get(user_key, 0) >= settings.login_max_account_failures
    )
    stored = user.password_hash if user else _dummy_hash()
    ok = verify_password(stored, password[:MAX_PASSWORD_LENGTH])
    if limited or not ok or user is None or user.disabled:
        with database.write() as session:
            session.add_all([LoginAttempt(key=key, created_at=now)
                             for key in (user_key, ip_key, pair_key)])
        raise SignInError()
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    with database.write() as session:
        # The account's own failures are forgiven once its password is proven; the IP's stay.
        session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_((user_key, pair_key))))
        session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
        session.add(
            StaffSession(
                token_hash=_token_hash(token),
                staff_user_id=user.id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.session_max_age_seconds),
            )
        )
    return SignedIn(user=user, csrf_token=csrf_token, token=token)


def session_for(database: Database, token: str | None) -> SignedIn | None:
    """The live session for a cookie token; None if unknown, expired or the account is disabled."""
    if not token or len(token) > 200:
        return None
    with database.read() as session:
        row = session.get(StaffSession, _token_hash(token))
        if row is None or row.expires_at <= utcnow() or row.staff_user.disabled:
            return None
        return SignedIn(user=row.staff_user, csrf_token=row.csrf_token, token=token)


def sign_out(database: Database, token: str | None) -> None:
    """End the session for this cookie token, if there is one."""
    if not token:
        return
    with database.write() as session:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def csrf_ok(signed_in: SignedIn | None, submitted: str | None) -> bool:
    """Whether a submitted CSRF token matches the session's, compared in constant time."""
    if signed_in is None or not submitted:
        return False
    return hmac.compare_digest(signed_in.csrf_token.encode(), submitted.encode())


def purge_login_attempts(database: Database) -> int:
    """Forget failed sign-ins older than the counting window (they hold IP hashes)."""
    cutoff = utcnow() - timedelta(seconds=database.settings.login_window_seconds)
    with database.write() as session:
        result = session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < cutoff))
        return result.rowcount or 0


def signin_form_token(keyring: Keyring, nonce: str) -> str:
    """The hidden-field token bound to a pre-sign-in cookie nonce (stops login CSRF)."""
    return hmac.new(keyring.signing_key, b"staff-sign-in:" + nonce.encode(),
                    hashlib.sha256).hexdigest()


def signin_form_ok(keyring: Keyring, nonce: str | None, submitted: str | None) -> bool:
    """Whether the sign-in form's token matches the nonce cookie it was issued with."""
    if not nonce or not submitted or len(nonce) > 200:
        return False
    return hmac.compare_digest(signin_form_token(keyring, nonce).encode(), submitted.encode())
