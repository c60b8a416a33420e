"""The service's background re-baker: stale article pages re-baked, then published.

Every verb that changes a public thread queues a BakeRequest (threads.touch_thread). The
baker drains the queue once an article has been quiet for bake_debounce_seconds, re-bakes
that article's page(s) in settings.site_dir and runs the publish step, so a rejected or
erased comment leaves the static HTML within seconds, without a site rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import shlex
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from comments_service.config import Settings
from comments_service.site.bake import BakeReport, SiteBaker
from comments_service.store.database import Database
from comments_service.store.models import BakeRequest, utcnow

log = logging.getLogger(__name__)

# However often an article keeps changing, its page is re-baked at least this often.
MAX_WAIT_FACTOR = 10
PUBLISH_TIMEOUT_SECONDS = 300
WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass
class Publication:
    """One article re-baked: what changed and how publishing went."""

    article_id: str
    report: BakeReport
    published: bool
    error: str = ""


class Baker:
    """Drains bake requests for one site folder; safe to run in several processes at once."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.site = SiteBaker(database, settings.site_dir, settings.nosnippet)
        self.debounce = max(0.0, settings.bake_debounce_seconds)
        self._first_seen: dict[str, float] = {}
        # Seconds until the earliest queued article not yet due becomes due (None: none).
        self.next_due_in: float | None = None

    @property
    def site_ready(self) -> bool:
        return self.settings.site_dir.is_dir()

    def claim_due(self) -> list[str]:
        """Remove and return the queued articles that have been quiet long enough.

        The delete re-checks requested_at, so a change that lands meanwhile stays queued,
        and two processes never both claim the same request.
        """
        now = utcnow()
        clock = time.monotonic()
        max_wait = max(self.debounce * MAX_WAIT_FACTOR, 5.0)
        # Look first with a read: most polls find nothing, and a write transaction would
        # take SQLite's write lock from comment posts every poll.
        with self.database.read() as session:
            queued = session.execute(select(BakeRequest.article_id, BakeRequest.requested_at)).all()
        queued_ids = {article_id for article_id, _ in queued}
        for gone in set(self._first_seen) - queued_ids:
            del self._first_seen[gone]
        due = []
        self.next_due_in = None
        for article_id, requested_at in queued:
            first = self._first_seen.setdefault(article_id, clock)
            quiet = now - requested_at >= timedelta(seconds=self.debounce)
            if quiet or clock - first >= max_wait:
                due.append((article_id, requested_at))
            else:
                wait = self.debounce - (now - requested_at).total_seconds()
                if self.next_due_in is None or wait < self.next_due_in:
                    self.next_due_in = wait
        claimed: list[str] = []
        if not due:
            return claimed
        with self.database.write() as session:
            for article_id, requested_at in due:
                result = session.execute(
                    delete(BakeRequest).where(
                        BakeRequest.article_id == article_id,
                        BakeRequest.requested_at <= requested_at,
                    )
                )
                if result.rowcount:
                    claimed.append(article_id)
                    self._first_seen.pop(article_id, None)
        return claimed

    def run_once(self) -> list[Publication]:
        """Re-bake and publish every due article; returns what was done."""
        if not self.site_ready:
            return []
        done = []
        for article_id in self.claim_due():
            with self._site_lock():
                report = self.site.bake(article_id)
            done.append(self.publish(article_id, report))
        return done

    def bake_all(self) -> BakeReport:
        """Bake the whole site (development start-up: the served site may predate comments)."""
        with self._site_lock():
            return self.site.bake()

    @contextlib.contextmanager
    def _site_lock(self) -> Iterator[None]:
        # Reading the thread and replacing the page happen under one lock across processes,
        # so an older read can never overwrite a newer page.
        self.settings.var_dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.var_dir / "bake.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def publish(self, article_id: str, report: BakeReport) -> Publication:
        """Run the publish command for each changed file, then the webhook.

        The files are the changed pages, then the static thread data (the article's JSON
        and counts.json), so a host that receives them serves the new thread as a file.
        """
        changed = report.files_changed
        if not changed:
            return Publication(article_id, report, published=False)
        errors = []
        site_dir = self.settings.site_dir
        if self.settings.publish_command:
            for path in changed:
                command = (
                    self.settings.publish_command.replace("{path}", shlex.quote(str(path)))
                    .replace("{site_dir}", shlex.quote(str(site_dir)))
                )
                error = _run_command(command)
                if error:
                    errors.append(error)
        if self.settings.publish_webhook:
            payload = {
                "article_id": article_id,
                "site_dir": str(site_dir),
                "pages": [p.relative_to(site_dir).as_posix() for p in changed],
            }
            error = _post_webhook(self.settings.publish_webhook, payload)
            if error:
                errors.append(error)
        for error in errors:
            log.error("publishing %s failed: %s", article_id, error)
        return Publication(article_id, report, published=not errors, error="; ".join(errors))

    async def run(self) -> None:
        """Poll the queue until cancelled; the blocking work runs in a thread."""
        poll = min(0.5, max(0.1, self.debounce / 2))
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                # A failed pass must not stop later ones; the next change queues again.
                log.exception("re-baking failed")
            # A change already seen is baked as soon as its debounce ends, not up to a poll
            # later: the static thread JSON then follows a staff action within the debounce
            # plus the bake itself.
            wait = poll if self.next_due_in is None else min(poll, self.next_due_in)
            await asyncio.sleep(max(0.005, wait))


def _run_command(command: str) -> str:
    try:
        # The operator writes this command in their own configuration, for their shell.
        completed = subprocess.run(  # noqa: S602
            command, shell=True, capture_output=True, text=True,
            timeout=PUBLISH_TIMEOUT_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        return f"publish command timed out after {PUBLISH_TIMEOUT_SECONDS} s: {command}"
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or [""]
        return f"publish command exited with {completed.returncode}: {command}: {detail[0]}"
    return ""


def _post_webhook(url: str, payload: dict[str, object]) -> str:
    if not url.startswith(("http://", "https://")):
        return f"publish webhook must be an http(s) URL, not {url!r}"
    import urllib.request  # only where a publish webhook is configured

    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except OSError as exc:
        return f"publish webhook {url} failed: {exc}"
    return ""


@contextlib.asynccontextmanager
async def running(settings: Settings, database: Database) -> AsyncIterator[Baker]:
    """Run the baker for the lifetime of the app (enter it in the app's lifespan)."""
    baker = Baker(settings, database)
    if settings.should_serve_site and baker.site_ready:
        try:
            await asyncio.to_thread(baker.bake_all)
        except Exception:
            log.exception("baking the served site at start-up failed")
    task = asyncio.create_task(baker.run(), name="comments-baker")
    try:
        yield baker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
