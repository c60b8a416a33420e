"""Webhook deliveries: what each event says, queued as outbox rows, signed, and POSTed.

Events are queued by ``notifications`` (pending, urgent, approved) and ``reports`` (a
reader's report) inside the transaction of the change, as rows of the same outbox as
mail (channel "webhook"); ``outbox`` claims and retries them with the mail's policy and
calls :func:`deliver` for each. A payload carries ids and links only: never a comment's
text, an author's name, an email address or an IP.

Signing (when the endpoint has a secret), as Slack and GitHub do it: the request carries
``X-Comments-Timestamp`` (Unix seconds, set at each attempt) and ``X-Comments-Signature:
v1=<hex>``, the HMAC-SHA256 of ``<timestamp>.<raw body>`` under the secret. A receiver
recomputes it over the bytes it got, compares in constant time, and refuses a timestamp
more than five minutes from its clock (so a captured request cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from comments_service.config import Settings
from comments_service.store.models import OutboxMail, utcnow
from comments_service.verbs import webhook_config
from comments_service.verbs.webhook_config import (
    EVENT_APPROVED,
    EVENT_PENDING,
    EVENT_REPORTED,
    EVENT_URGENT,
    Endpoint,
)

if TYPE_CHECKING:
    import urllib.request

CHANNEL = "webhook"
KIND_PREFIX = "webhook:"
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Comments-Signature"
TIMESTAMP_HEADER = "X-Comments-Timestamp"
EVENT_HEADER = "X-Comments-Event"
DELIVERY_HEADER = "X-Comments-Delivery"
USER_AGENT = "open-minds-comments-webhooks/1"


@dataclass(frozen=True)
class Event:
    """One thing staff should hear about, with the public facts and links it may carry."""

    name: str
    comment_id: int
    article_id: str
    article_title: str
    article_url: str
    status: str
    urgent: bool
    staff_url: str
    report_id: int | None = None
    report_reason: str = ""
    open_reports: int = 0

    @property
    def summary(self) -> str:
        """One line for a chat room, in plain words."""
        title = f"\u201c{self.article_title}\u201d"
        if self.name == EVENT_URGENT:
            return f"Urgent: a comment on {title} was flagged as urgent and needs moderation soon"
        if self.name == EVENT_APPROVED:
            return f"A comment on {title} was approved"
        if self.name == EVENT_REPORTED:
            noun = "open report" if self.open_reports == 1 else "open reports"
            return (f"A comment on {title} was reported ({self.report_reason}; "
                    f"{self.open_reports} {noun})")
        return f"A comment on {title} is waiting for moderation"


def _public_url(event: Event) -> str | None:
    # Only a published comment has an address on the page.
    return f"{event.article_url}#comment-{event.comment_id}" if event.status == "approved" \
        else None


def generic_payload(event: Event, now: datetime) -> dict[str, Any]:
    """The json format: the event with ids and links, no text and no personal data."""
    payload: dict[str, Any] = {
        "event": event.name,
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "summary": event.summary,
        "comment": {"id": event.comment_id, "status": event.status, "urgent": event.urgent,
                    "staff_url": event.staff_url, "url": _public_url(event)},
        "article": {"id": event.article_id, "title": event.article_title,
                    "url": event.article_url},
    }
    if event.report_id is not None:
        payload["report"] = {"id": event.report_id, "reason": event.report_reason,
                             "open_reports": event.open_reports}
    return payload


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_for(endpoint_format: str, event: Event, now: datetime) -> dict[str, Any]:
    """The request body for one of the ready-made formats."""
    if endpoint_format == "slack":
        # Slack incoming webhooks: {"text"} with <url|label> links.
        return {"text": f"{_slack_escape(event.summary)}: "
                        f"<{event.staff_url}|open comment #{event.comment_id} in the queue>"}
    if endpoint_format == "matrix":
        # matrix-hookshot generic webhooks: "text" becomes the m.room.message body.
        return {"text": f"{event.summary}: {event.staff_url}", "format": "plain"}
    return generic_payload(event, now)


def queue(session: Session, settings: Settings, event: Event,
          now: datetime | None = None) -> int:
    """Queue the event for every endpoint that wants it, in the caller's transaction.

    Returns how many deliveries were queued.
    """
    now = now or utcnow()
    queued = 0
    for endpoint in webhook_config.running_endpoints(settings):
        if not endpoint.wants(event.name):
            continue
        body = json.dumps(payload_for(endpoint.format, event, now), ensure_ascii=False,
                          separators=(",", ":"))
        session.add(OutboxMail(
            kind=f"{KIND_PREFIX}{event.name}", channel=CHANNEL, endpoint=endpoint.name,
            recipient_encrypted="", subject=event.summary[:200], body=body,
            unsubscribe_url="", status="pending", attempts=0, next_attempt_at=now,
            last_error="", created_at=now))
        queued += 1
    return queued


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str,
           tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does: check the signature and that the timestamp is recent."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_seconds and hmac.compare_digest(
        sign(secret, timestamp, body).encode(), signature.encode())


@lru_cache(maxsize=1)
def _opener() -> urllib.request.OpenerDirector:
    # Built on the first delivery: urllib.request is loaded only where webhooks are set.
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        # A redirect would drop the POST body or send it somewhere unconfigured.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirects)


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt went: error None when the endpoint took it."""

    error: str | None = None
    permanent: bool = False


def deliver(endpoint: Endpoint, mail: OutboxMail, now: float | None = None) -> Outcome:
    """POST one queued delivery; 2xx is done, 408, 429, 5xx and network errors are retried."""
    body = mail.body.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               EVENT_HEADER: mail.kind.removeprefix(KIND_PREFIX),
               DELIVERY_HEADER: str(mail.id)}
    if endpoint.secret:
        timestamp = str(int(now if now is not None else time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, body)
    import urllib.request

    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme validated in webhook_config)
    try:
        with _opener().open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            return Outcome()
    except urllib.error.HTTPError as exc:
        code = exc.code
        retry = code in (408, 425, 429) or code >= 500
        return Outcome(f"HTTP {code}", permanent=not retry)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(f"connect: {reason}")


__all__ = ["EVENT_APPROVED", "EVENT_PENDING", "EVENT_REPORTED", "EVENT_URGENT", "Event",
           "deliver", "payload_for", "queue", "sign", "verify"]
