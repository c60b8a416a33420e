"""Security headers on every response the service sends, fast path included.

One raw ASGI middleware, outermost (app.CommentsApp runs it before the fast path and the
FastAPI stack), that adds what a response did not set itself:

- ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy`` everywhere;
- on HTML, a ``Content-Security-Policy`` with ``frame-ancestors 'none'`` (pages with
  inline styles or scripts set their own, by hash: forms, devsite) and
  ``X-Frame-Options: DENY`` for browsers without CSP; ``; charset=utf-8`` if missing;
- ``Cache-Control: no-store`` on everything under /staff (sessions, personal data);
- ``Strict-Transport-Security`` when the request came over https: the public service URL
  is https, the server saw https, or a trusted proxy said so in X-Forwarded-Proto.

JSON keeps ``application/json`` with no charset parameter: RFC 8259 defines none (JSON
is always UTF-8), and browsers and clients decode it as UTF-8 without one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from comments_service.config import Settings

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

HTML_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
HSTS = b"max-age=31536000"
_ALWAYS = ((b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"strict-origin-when-cross-origin"))
_HTML = ((b"content-security-policy", HTML_CSP.encode()), (b"x-frame-options", b"DENY"))


class SecurityHeaders:
    """ASGI middleware adding the headers above to each http.response.start."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.always_https = settings.public_service_url.startswith("https://")
        # Addresses or networks, as COMMENTS_TRUSTED_PROXIES allows for X-Forwarded-For.
        self.trusted_proxies = tuple(ipaddress.ip_network(p, strict=False)
                                     for p in settings.trusted_proxies if p)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.always_https or self._https(scope)
        staff = scope["path"].startswith("/staff")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # Each message is a fresh dict from the app, so it is ours to change.
                message["headers"] = with_security_headers(message.get("headers", ()),
                                                           https=https, staff=staff)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _https(self, scope: dict[str, Any]) -> bool:
        if scope.get("scheme") == "https":
            return True
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                # The proxy nearest us appends last.
                said_https = value.rsplit(b",", 1)[-1].strip().lower() == b"https"
                return said_https and self._from_trusted_proxy(scope)
        return False

    def _from_trusted_proxy(self, scope: dict[str, Any]) -> bool:
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return peer is not None and any(peer in network for network in self.trusted_proxies)


def with_security_headers(headers: Any, *, https: bool, staff: bool) -> list[tuple[bytes, bytes]]:
    """headers plus whatever security header they lack (never replacing one they set)."""
    out = list(headers)
    present = set()
    html = False
    # One pass, as cheap as it can be: this runs on every answer, the hot reads included.
    for index, (name, value) in enumerate(out):
        name = name.lower()
        present.add(name)
        if name == b"content-type" and value[:9].lower() == b"text/html":
            html = True
            if b"charset" not in value.lower():
                out[index] = (name, value + b"; charset=utf-8")
    for pair in _ALWAYS:
        if pair[0] not in present:
            out.append(pair)
    if html:
        out.extend(pair for pair in _HTML if pair[0] not in present)
    if https and b"strict-transport-security" not in present:
        out.append((b"strict-transport-security", HSTS))
    if staff:
        out = [pair for pair in out if pair[0].lower() != b"cache-control"]
        out.append((b"cache-control", b"no-store"))
    return out
