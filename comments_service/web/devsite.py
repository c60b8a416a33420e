"""Serving the built site at / in development, so one URL shows pages, API and staff pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from comments_service.config import Settings
from comments_service.web.site_csp import file_csp


class SiteFiles(StaticFiles):
    """StaticFiles for a folder that may not exist yet (the site is built after start-up)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _is_service_path(scope["path"]):
            # The service's own addresses are never pages: a miss there is the API's 404
            # (or 405, for a known path; see errors.py), not the site's.
            raise HTTPException(status_code=404)
        if scope["type"] == "http" and not os.path.isdir(str(self.directory)):
            response = PlainTextResponse(
                f"The site has not been built yet: run `mkdocs build` (it writes "
                f"{self.directory}), then reload.",
                status_code=404,
            )
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Any,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        # Pages are re-baked in place after moderation; make the browser ask each time.
        if str(full_path).endswith(".html"):
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Content-Security-Policy"] = file_csp(Path(full_path))
        return response


# Paths the service answers itself (see the reverse proxy example in README.md).
SERVICE_PREFIXES = ("/api/", "/staff/", "/mail/")
SERVICE_PATHS = frozenset({"/api", "/comments", "/healthz", "/openapi.json"})


def _is_service_path(path: str) -> bool:
    return path in SERVICE_PATHS or path.startswith(SERVICE_PREFIXES)


def mount_site(app: FastAPI, settings: Settings) -> None:
    """Serve settings.site_dir at / when the settings ask for it (development by default).

    Call it after every router is included: a mount at / matches everything, so the API,
    form, staff and health routes must come first.
    """
    if settings.should_serve_site:
        app.mount("/", SiteFiles(directory=settings.site_dir, html=True, check_dir=False),
                  name="site")
