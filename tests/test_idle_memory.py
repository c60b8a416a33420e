"""A worker gives the memory a burst of requests freed back to the system once it falls
idle: once per idle spell, never while requests keep coming."""

from __future__ import annotations

import asyncio
import platform
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_support import OPEN, with_docs

from comments_service.config import Settings
from comments_service.web import idle_memory
from comments_service.web.app import create_app


class Worker:
    """A request count the test moves, idle periods it ends one at a time, and the
    releases the watcher asked for."""

    def __init__(self, trim_available: bool = True) -> None:
        self.calls = 0
        self.released = 0
        self.trim_available = trim_available
        self._period_over = asyncio.Queue[None]()
        self._watching = asyncio.Event()
        self.trimmer = idle_memory.IdleTrimmer(lambda: self.calls, release=self.release,
                                               sleep=self.sleep)
        self.task = asyncio.create_task(self.trimmer.run())

    def release(self) -> bool:
        self.released += 1
        return self.trim_available

    async def sleep(self, _seconds: float) -> None:
        self._watching.set()
        await self._period_over.get()

    async def period(self, requests: int = 0) -> None:
        """One idle period in which ``requests`` arrive; back once the watcher waits again."""
        await self._watching.wait()
        self._watching.clear()
        self.calls += requests
        self._period_over.put_nowait(None)
        waiting = asyncio.create_task(self._watching.wait())
        await asyncio.wait({self.task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()

    async def stop(self) -> bool:
        """Cancel the watcher; whether it had already ended by itself."""
        ended = self.task.done()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return ended


def run(periods: list[int], trim_available: bool = True) -> tuple[int, bool]:
    """Releases asked for over these periods, and whether the watcher ended by itself."""
    async def scenario() -> tuple[int, bool]:
        worker = Worker(trim_available)
        for requests in periods:
            if worker.task.done():
                break
            await worker.period(requests)
        return worker.released, await worker.stop()

    return asyncio.run(scenario())


def test_a_burst_spanning_several_periods_gets_one_release_once_it_stops() -> None:
    assert run([5, 3, 8]) == (0, False)
    assert run([5, 3, 8, 0]) == (1, False)


def test_a_long_idle_spell_releases_only_once() -> None:
    assert run([5, 0, 0, 0, 0, 0]) == (1, False)


def test_every_new_burst_earns_its_own_release() -> None:
    assert run([4, 0, 0, 7, 1, 0, 0]) == (2, False)


def test_a_worker_that_was_never_asked_anything_is_left_alone() -> None:
    assert run([0, 0, 0, 0]) == (0, False)


def test_without_malloc_trim_the_watcher_ends_after_its_first_try() -> None:
    assert run([3, 0, 3, 0, 3, 0], trim_available=False) == (1, True)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_returns_free_pages() -> None:
    assert idle_memory.release_free_memory() is True


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_app_releases_memory_a_second_after_its_last_request(settings: Settings,
                                                                 tmp_path: Path) -> None:
    app = create_app(with_docs(settings, tmp_path))
    with TestClient(app) as client:
        for _ in range(5):
            assert client.get(f"/api/articles/{OPEN}/comments").status_code == 200
        deadline = time.monotonic() + 20
        while app.state.idle_trimmer.releases == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.state.idle_trimmer.releases == 1
