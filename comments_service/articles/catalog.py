"""The articles the service knows, read from docs/ front matter and reloaded when docs change."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from comments_service.articles.article import Article
from comments_service.articles.front_matter import load_articles

log = logging.getLogger("comments_service.catalog")


class Catalog:
    """Articles by id, kept fresh by checking docs/ at most every ``check_interval`` seconds.

    The check is a stat of every Markdown file (paths and mtimes), so an edit, an added
    or a removed article is picked up within about a second without re-parsing YAML on every
    request. In the service, :meth:`watch` moves that check to a background thread: with a
    thousand articles a check takes tens of milliseconds, which must not stall a request.
    Its articles carry no references: every worker holds the catalog, and only the site
    build, which reads the files itself, formats them.
    """

    def __init__(self, docs_dir: Path, check_interval: float = 1.0) -> None:
        self.docs_dir = docs_dir
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._articles: dict[str, Article] = {}
        self._signature: int | None = None
        self._checked_at = float("-inf")
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._refresh()

    def watch(self) -> None:
        """Check docs/ from a background thread from now on, not on the caller's path."""
        if self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="catalog-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop the background check started by watch()."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._stop.set()
            watcher.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.check_interval):
            try:
                with self._lock:
                    self._refresh()
            except Exception:  # keep watching; the next edit may fix it
                log.exception("reloading articles from %s failed", self.docs_dir)

    def get(self, article_id: str) -> Article | None:
        """The article with this id, or None when docs/ has no such article."""
        self._maybe_refresh()
        return self._articles.get(article_id)

    def all(self) -> list[Article]:
        """Every known article."""
        self._maybe_refresh()
        return list(self._articles.values())

    def _maybe_refresh(self) -> None:
        if self._watcher is not None:
            return
        if time.monotonic() - self._checked_at < self.check_interval:
            return
        with self._lock:
            if time.monotonic() - self._checked_at < self.check_interval:
                return
            self._refresh()

    def _refresh(self) -> None:
        self._checked_at = time.monotonic()
        signature = self._docs_signature()
        if signature == self._signature:
            return
        if not self.docs_dir.is_dir():
            log.warning("docs folder %s does not exist; no article accepts comments",
                        self.docs_dir)
            self._articles = {}
            self._signature = signature
            return
        # The service never shows references (the site build formats them from the files).
        result = load_articles(self.docs_dir, keep_references=False)
        for problem in result.problems:
            # A broken file must not take the others' comments down; the build reports it.
            log.warning("front matter problem, article skipped: %s", problem)
        self._articles = result.by_id()
        self._signature = signature

    def _docs_signature(self) -> int:
        # Paths as well as mtimes, so a renamed file (same mtime) still counts as a change.
        entries = []
        if self.docs_dir.is_dir():
            for path in self.docs_dir.rglob("*.md"):
                try:
                    entries.append((str(path), path.stat().st_mtime_ns))
                except OSError:
                    continue
        return hash(tuple(sorted(entries)))
