"""Giving the memory a burst of requests freed back to the system once a worker falls idle.

A burst of posts and reads frees much of what it allocated (SQLite's page caches and
statements, request buffers, parsed bodies), but glibc's allocator keeps the freed pages
inside its heap: it returns only the top of the heap by itself. ``malloc_trim(0)`` hands
back every whole free page. Called once per idle spell, a second after the last request,
it took each worker from about 96 to 93 MB resident after a burst of 300 posts and 1,200
reads (benchmarks/README.md, "Lean at every scale"); under load it never runs, so it
costs the requests nothing. Where the C library has no ``malloc_trim`` (musl, macOS) the
watcher does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache

log = logging.getLogger("comments_service.idle_memory")

IDLE_SECONDS = 1.0


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; False where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class IdleTrimmer:
    """Calls ``release`` once each time the request count stops moving for ``idle_seconds``."""

    def __init__(self, requests: Callable[[], int], idle_seconds: float = IDLE_SECONDS,
                 release: Callable[[], bool] = release_free_memory,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.requests = requests
        self.idle_seconds = idle_seconds
        self.release = release
        self.sleep = sleep
        self.releases = 0

    async def run(self) -> None:
        """Watch until cancelled: a release after every spell of requests, none while idle."""
        seen = self.requests()
        pending = False
        while True:
            await self.sleep(self.idle_seconds)
            now = self.requests()
            if now != seen:
                seen, pending = now, True
                continue
            if pending:
                pending = False
                try:
                    if not await asyncio.to_thread(self.release):
                        return  # no malloc_trim here: nothing to watch for
                except Exception:
                    log.exception("releasing free memory failed")
                self.releases += 1
