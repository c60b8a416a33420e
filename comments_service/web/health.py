"""GET /healthz: healthy only when the database can be read and written.

The read (one indexed row) runs on every call; the write, which waits its turn behind
comment posts, runs at most every few seconds per worker, so monitors cannot load the
database however often they ask.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from comments_service.store import heartbeat
from comments_service.store.database import Database
from comments_service.store.outages import RETRY_AFTER_SECONDS
from comments_service.web.api import ApiJSONResponse

# How long one probe's answer is reused, failures included.
HEALTH_CACHE_SECONDS = 5.0

router = APIRouter(tags=["operations"])
log = logging.getLogger("comments_service.outage")


@dataclass(frozen=True)
class Health:
    """The outcome of one probe."""

    ok: bool
    detail: str
    checked_at: float


class HealthCheck:
    """Reads on every call; commits heartbeat.probe_write at most once per ttl seconds."""

    def __init__(self, database: Database, ttl: float = HEALTH_CACHE_SECONDS) -> None:
        self.database = database
        self.ttl = ttl
        self._lock = threading.Lock()
        self._last: Health | None = None

    def current(self) -> Health:
        """Healthy when a read works now and the latest write probe (within ttl) worked."""
        try:
            heartbeat.probe_read(self.database)
        except Exception as exc:  # any failure at all means unhealthy
            return self._failed("read", exc)
        return self._write_health()

    def _write_health(self) -> Health:
        last = self._last
        if last is not None and time.monotonic() - last.checked_at < self.ttl:
            return last
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.checked_at < self.ttl:
                return last  # another request probed while this one waited
            try:
                heartbeat.probe_write(self.database)
            except Exception as exc:  # any failure at all means unhealthy
                last = self._failed("write", exc)
            else:
                last = Health(True, "", time.monotonic())
            self._last = last
            return last

    @staticmethod
    def _failed(stage: str, exc: BaseException) -> Health:
        # The type only in the answer: the message can name hosts and paths; the log has it.
        log.warning("health check: %s failed: %s: %s", stage, type(exc).__name__,
                    _first_line(exc))
        return Health(False, f"{stage} failed: {type(exc).__name__}", time.monotonic())


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""


@router.get("/healthz", summary="Liveness, database read and write check",
            responses={503: {"description": "The database cannot be read or written."}})
def healthz(request: Request) -> JSONResponse:
    """{"status": "ok"} when the comments table can be read and a write can be committed;
    otherwise 503 {"status": "error", "detail": "..."}. The write is probed at most every 5 s
    per worker."""
    health: HealthCheck = request.app.state.health
    result = health.current()
    if result.ok:
        return ApiJSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
    return ApiJSONResponse({"status": "error", "detail": result.detail}, status_code=503,
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS),
                                    "Cache-Control": "no-store"})
