"""Spam and abuse defences without a CAPTCHA.

A honeypot field, a minimum time between form render and submit (a signed timestamp
token), a cap on links, duplicate bodies per article, and a rate limit counted in the
database so it holds across every service process sharing it: per address and email
together (keyed hashes of both), and a higher ceiling per address alone, so readers sharing
one address (a clinic, a library) do not use up each other's allowance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, bindparam, func, select, text
from sqlalchemy.orm import Session

from comments_service.store.models import Comment, CommentStatus
from comments_service.verbs.render import find_urls

# Every post checks these (as ADMISSION below; the queries themselves only to say why a
# post was refused); built once with bound parameters, because building a statement costs
# more than running it on an indexed table.
_COMMENTS = Comment.__table__
_LIVE_WITH_BODY = (
    select(_COMMENTS.c.id)
    .where(
        _COMMENTS.c.article_id == bindparam("article_id"),
        _COMMENTS.c.body_hash == bindparam("body_hash"),
        _COMMENTS.c.status != CommentStatus.DELETED,
    )
    .limit(1)
)
_FROM_ADDRESS_SINCE = (
    _COMMENTS.c.ip_hash == bindparam("ip_hash"), _COMMENTS.c.created_at > bindparam("since")
)
_FROM_SENDER_SINCE = (*_FROM_ADDRESS_SINCE, _COMMENTS.c.email_hash == bindparam("email_hash"))
_RECENT_FROM_ADDRESS = select(
    func.count(_COMMENTS.c.id), func.min(_COMMENTS.c.created_at)
).where(*_FROM_ADDRESS_SINCE)
_RECENT_FROM_SENDER = select(
    func.count(_COMMENTS.c.id), func.min(_COMMENTS.c.created_at)
).where(*_FROM_SENDER_SINCE)
# Every check as one condition, for an INSERT ... SELECT that stores the comment only when
# they pass (comments.submit): one statement where there were four. Its parameters are
# those of the queries plus "limit" (per address and email) and "address_limit". Both
# counts walk ix_comments_ip_hash_created; the email is compared on those rows only.
ADMISSION: ColumnElement[bool] = (
    (select(func.count(_COMMENTS.c.id)).where(*_FROM_SENDER_SINCE).scalar_subquery()
     < bindparam("limit"))
    & (select(func.count(_COMMENTS.c.id)).where(*_FROM_ADDRESS_SINCE).scalar_subquery()
       < bindparam("address_limit"))
    & ~_LIVE_WITH_BODY.exists()
)
_ADDRESS_LOCK = text("SELECT pg_advisory_xact_lock(:key)")

HONEYPOT_FIELD = "website"
FORM_TOKEN_FIELD = "form_token"  # noqa: S105 - a field name, not a secret


def honeypot_tripped(value: object) -> bool:
    """True when the hidden field people never see was filled in, as bots do.

    Any character counts, a space too: no person types into a field they cannot see, and
    a bot that fills every field with a blank must not slip through.
    """
    return isinstance(value, str) and value != ""


def count_links(text: str) -> int:
    """Links in a comment: bare URLs plus www. addresses readers may paste without a scheme."""
    urls = find_urls(text)
    bare_www = len(re.findall(r"(?<![/\w.])www\.[^\s]+\.[a-z]{2,}", text, re.IGNORECASE))
    return len(urls) + bare_www


def body_fingerprint(text: str) -> str:
    """A hash of the body ignoring case and spacing, for duplicate detection per article."""
    canonical = " ".join(text.casefold().split())
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_duplicate(session: Session, article_id: str, fingerprint: str) -> bool:
    """True when the article already has a live comment with the same body."""
    existing = session.connection().execute(
        _LIVE_WITH_BODY, {"article_id": article_id, "body_hash": fingerprint}
    ).first()
    return existing is not None


# Form timestamp tokens -------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a form token: ok, or a reason the reader can act on."""

    ok: bool
    reason: str = ""


def form_token(signing_key: bytes, article_id: str, now: float | None = None) -> str:
    """A signed "this form was rendered at" token for the no-JavaScript form.

    Bind it to the article so a token scraped from one page cannot be replayed on another.
    The page baker puts one in each form; the form error page issues a fresh one.
    """
    issued = int(now if now is not None else time.time())
    payload = f"{issued}:{article_id}"
    signature = _sign(signing_key, payload)
    return base64.urlsafe_b64encode(f"{payload}:{signature}".encode()).decode().rstrip("=")


def check_form_token(
    signing_key: bytes,
    token: object,
    article_id: str,
    min_seconds: float,
    max_age_seconds: float,
    now: float | None = None,
) -> TokenCheck:
    """Whether the form was rendered by us for this article, long enough ago and not too long."""
    if not isinstance(token, str) or not token:
        return TokenCheck(False, "missing")
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
        issued_text, token_article, signature = decoded.split(":", 2)
        issued = int(issued_text)
    except (ValueError, UnicodeDecodeError):
        return TokenCheck(False, "invalid")
    if not hmac.compare_digest(signature, _sign(signing_key, f"{issued}:{token_article}")):
        return TokenCheck(False, "invalid")
    if token_article != article_id:
        return TokenCheck(False, "invalid")
    age = (now if now is not None else time.time()) - issued
    if age < min_seconds:
        return TokenCheck(False, "too-fast")
    if age > max_age_seconds:
        return TokenCheck(False, "expired")
    return TokenCheck(True)


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


# Rate limit ------------------------------------------------------------------------------


def lock_address(session: Session, ip_hash: str) -> None:
    """Make concurrent posts from one address count one after another.

    Call it in the write transaction that stores the comment, before counting. On
    PostgreSQL a transaction-scoped advisory lock per IP hash orders posts from one address
    even through different service processes; SQLite's IMMEDIATE write transactions
    already serialise every writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_ADDRESS_LOCK, {"key": int(ip_hash[:15], 16)})


def window_start(now: datetime, window_seconds: int) -> datetime:
    """The oldest post time that still counts against the rate limit."""
    return now - timedelta(seconds=window_seconds)


def rate_limit_retry_after(
    session: Session, ip_hash: str, limit: int, window_seconds: int, now: datetime,
    email_hash: str | None = None, address_limit: int | None = None,
) -> int | None:
    """Seconds until this sender may post again, or None when it is under every limit.

    With ``email_hash``, ``limit`` counts this address and email together and
    ``address_limit`` (when given) the address alone; without it, ``limit`` counts the
    address. Call it inside the write transaction that stores the comment, after
    lock_address.
    """
    since = window_start(now, window_seconds)
    checks = []
    if email_hash is None:
        checks.append((_RECENT_FROM_ADDRESS, limit))
    else:
        checks.append((_RECENT_FROM_SENDER, limit))
        if address_limit is not None:
            checks.append((_RECENT_FROM_ADDRESS, address_limit))
    waits = [
        wait for query, ceiling in checks
        if (wait := _wait(session, query, ceiling, ip_hash, email_hash, since, window_seconds,
                          now)) is not None
    ]
    return max(waits) if waits else None


def _wait(session: Session, query: object, limit: int, ip_hash: str, email_hash: str | None,
          since: datetime, window_seconds: int, now: datetime) -> int | None:
    count, oldest = session.connection().execute(
        query, {"ip_hash": ip_hash, "email_hash": email_hash, "since": since}  # type: ignore[arg-type]
    ).one()
    if count < limit:
        return None
    if oldest is None:  # pragma: no cover - count > 0 implies a row
        return window_seconds
    oldest = _aware(oldest)
    remaining = (oldest + timedelta(seconds=window_seconds) - now).total_seconds()
    return max(1, int(remaining + 0.999))


def _aware(value: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back text or naive datetimes.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# Client address --------------------------------------------------------------------------


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: Iterable[str]) -> str:
    """The address a request came from, believing X-Forwarded-For only from trusted proxies.

    Walks X-Forwarded-For from the right, skipping addresses that are themselves trusted
    proxies, so a client cannot dodge the rate limit by prepending a forged address.
    """
    networks = _networks(tuple(trusted_proxies))
    peer_ip = (peer or "").strip()
    if not peer_ip or not _is_trusted(peer_ip, networks) or not forwarded_for:
        return peer_ip or "unknown"
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            # A garbled entry: stop believing anything further left.
            return peer_ip
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer_ip


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies if p)


def _is_trusted(ip: str, networks) -> bool:  # type: ignore[no-untyped-def]
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
