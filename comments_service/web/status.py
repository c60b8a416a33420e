"""GET /api/status: whether comment forms are open and staffed now, for the page's script.

The baked page is static, so it can only say something generic; this small answer lets the
script close the form while comments are paused and say when replies will come outside
staffed hours. ``app.state.clock`` (a function returning an aware datetime) is the time
it asks about, so tests can fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from comments_service.store.models import utcnow
from comments_service.verbs import pause, staffed_hours
from comments_service.web.api import ApiJSONResponse

# Short: a pause or the end of staffed hours should reach open pages within seconds.
STATUS_CACHE_CONTROL = "public, max-age=15"

router = APIRouter(prefix="/api", tags=["public"])


class StatusOut(BaseModel):
    """What the page's script needs to know about the comment form right now."""

    paused: bool = Field(description="Comments are paused site-wide: no form is open.")
    pause_message: str | None = Field(description="What to tell readers while paused.")
    staffed: bool = Field(description="Someone reads comments now (always true without "
                                      "COMMENTS_STAFFED_HOURS).")
    next_staffed_at: str | None = Field(description="RFC 3339 UTC start of the next staffed "
                                                    "time, when not staffed now.")
    next_staffed_text: str | None = Field(description="The same for readers, e.g. \"Monday 2 "
                                                      "December, 09:00 (Europe/London time)\".")
    mail: bool = Field(description="The service can send mail (COMMENTS_SMTP_HOST is set), "
                                   "so the form may offer \"Email me when someone replies\".")


def clock_of(request: Request) -> Callable[[], datetime]:
    """The app's clock: utcnow unless a test or an operator tool set another."""
    return getattr(request.app.state, "clock", utcnow)


@router.get("/status", response_model=StatusOut,
            summary="Whether comments are paused, and staffed now")
async def get_status(request: Request) -> JSONResponse:
    """Answered from the database (pause) and the settings (staffed hours)."""
    state = request.app.state
    paused = await run_in_threadpool(pause.current, state.database)
    body = {
        "paused": paused.paused,
        "pause_message": paused.reader_message if paused.paused else None,
        **staffed_hours.status(state.settings, clock_of(request)()),
        "mail": bool(state.settings.smtp_host),
    }
    # The API's bytes (<, > and & escaped): pause_message is text staff typed.
    return ApiJSONResponse(body, headers={"Cache-Control": STATUS_CACHE_CONTROL})
