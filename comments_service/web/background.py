"""Jobs the service runs beside its requests: the mail worker and the IP hash purge."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from comments_service.store.database import Database
from comments_service.verbs import accounts, outbox, privacy
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import ArticleLookup

log = logging.getLogger("comments_service.background")

PURGE_EVERY_SECONDS = 3600


class BackgroundJobs:
    """Runs outbox.run_once every ``notify_interval_seconds`` and the purges hourly.

    The blocking work (database, SMTP) runs in a thread so the event loop keeps serving.
    """

    def __init__(self, database: Database, keyring: Keyring,
                 articles: ArticleLookup | None = None) -> None:
        self.database = database
        self.keyring = keyring
        self.articles = articles
        self._task: asyncio.Task[None] | None = None
        self._last_purge = float("-inf")

    def tick(self) -> None:
        """One round of every job; errors are logged so the next round still happens."""
        try:
            outbox.run_once(self.database, self.keyring, self.articles)
        except Exception:
            log.exception("mail worker round failed")
        if time.monotonic() - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            try:
                privacy.purge_ip_hashes(self.database)
                accounts.purge_login_attempts(self.database)
            except Exception:
                log.exception("purge of old IP hashes failed")

    async def _loop(self, interval: float) -> None:
        while True:
            await asyncio.to_thread(self.tick)
            await asyncio.sleep(interval)

    def start(self) -> None:
        """Start the loop on the running event loop, unless the interval is 0 (off)."""
        interval = self.database.settings.notify_interval_seconds
        if interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(interval), name="comments-background")

    async def stop(self) -> None:
        """Cancel the loop and wait for it, so shutdown leaves no round half done."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
