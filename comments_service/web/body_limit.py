"""The cap on request bodies: comment posts are small, so anything larger is refused (413)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from comments_service.verbs import json_bytes

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Paths whose POST bodies are capped at settings.max_body_bytes.
LIMITED_PREFIXES = ("/api/", "/comments")


class BodyTooLarge(Exception):
    """The request declared or sent more than the cap."""


async def read_body(scope: dict[str, Any], receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, checked against max_bytes by header and by bytes received.

    Raises BodyTooLarge; returns None when the client went away. A lying or absent
    Content-Length cannot slip a large body past the check.
    """
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = -1
            if declared > max_bytes:
                raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the client's own messages."""
    delivered = False

    async def replayed() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def too_large_body(max_bytes: int) -> bytes:
    """The 413 answer's JSON, in the API's error shape."""
    return json_bytes.dumps({
        "detail": f"The request is too large (at most {max_bytes:,} bytes).",
        "errors": {"body": "Comment is far too long."},
    })


class BodySizeLimit:
    """ASGI middleware: answers 413 to posts under LIMITED_PREFIXES over max_bytes.

    The body is buffered (it is small by definition) and handed on to the app.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or not scope["path"].startswith(LIMITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.max_bytes)
        except BodyTooLarge:
            payload = too_large_body(self.max_bytes)
            await send({
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")],
            })
            await send({"type": "http.response.body", "body": payload})
            return
        if body is None:
            return
        await self.app(scope, replay(body, receive), send)
