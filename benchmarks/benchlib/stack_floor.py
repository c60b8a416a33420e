"""Apps that answer one fixed JSON body: the idle memory of the service's stack itself.

`run.py --memory-only` serves each with granian exactly as `comments-service serve` does
(2 workers, uvloop, HTTP/1.1), so the figures show how much of our idle memory is the
libraries the project builds on, before any code of ours. Nothing here is the product.
"""

from __future__ import annotations

from typing import Any

# What each floor imports, beyond granian: the layers of our stack, cumulatively.
LAYERS = {
    "bare": "granian and uvloop alone (a raw ASGI function)",
    "starlette": "+ Starlette, SQLAlchemy Core, pydantic-settings",
    "fastapi": "+ FastAPI, SQLAlchemy ORM, ctypes (Fernet over libcrypto), argon2, nh3, Jinja2",
}


async def _answer(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


def bare() -> Any:
    """A raw ASGI callable: granian's and the interpreter's own footprint."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await _answer(send)
    return app


def starlette() -> Any:
    """The lightest app our guide's stack allows: Starlette, SQLAlchemy Core, settings."""
    import pydantic_settings  # noqa: F401
    import sqlalchemy  # noqa: F401
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ok(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/", ok)])


def fastapi() -> Any:
    """The libraries the service imports, with one route and none of our code."""
    import ctypes  # noqa: F401 - the emails' Fernet calls libcrypto through it

    import argon2  # noqa: F401
    import jinja2  # noqa: F401
    import nh3  # noqa: F401
    import pydantic_settings  # noqa: F401
    import sqlalchemy.orm  # noqa: F401
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    return app
