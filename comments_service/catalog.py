"""The articles the service knows, read from docs/ front matter and reloaded when docs change."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from .articles import Article, load_articles

log = logging.getLogger("comments_service.catalog")


class Catalog:
    """Articles by id, kept fresh by checking docs/ at most every ``check_interval`` seconds.

    The check is a stat of every Markdown file (paths and mtimes), so an edit, an added
    or a removed article is picked up within about a second without re-parsing YAML on every
    request.
    """

    def __init__(self, docs_dir: Path, check_interval: float = 1.0) -> None:
        self.docs_dir = docs_dir
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._articles: dict[str, Article] = {}
        self._signature: int | None = None
        self._checked_at = float("-inf")
        self._refresh()

    def get(self, article_id: str) -> Article | None:
        """The article with this id, or None when docs/ has no such article."""
        self._maybe_refresh()
        return self._articles.get(article_id)

    def all(self) -> list[Article]:
        """Every known article."""
        self._maybe_refresh()
        return list(self._articles.values())

    def _maybe_refresh(self) -> None:
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
        result = load_articles(self.docs_dir)
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
