"""Static thread data: each article's public thread JSON and the counts, as files in the site.

A thread changes only when staff act, and every such action re-bakes the article's page
(rebake.Baker), so the bake also writes the bytes the API would answer for that thread to
``{site_dir}/comments-data/{article_id}.json`` and every article's count to
``{site_dir}/comments-data/counts.json``. The page's script reads them from the static host
first, so reading a popular article costs the service nothing; it asks the API only where
no file exists (a site built without the database, or with static_threads off).

The thread file is byte for byte the API's 200 body (public_threads.thread through
json_bytes.dumps, as verbs.thread_cache serialises it). A file is rewritten only when its
bytes change, so the static host's ETag (nginx: mtime and size) stays put and revalidations
of an unchanged thread answer 304; and when it is rewritten, its mtime moves to a later
whole second, so the validator always changes with the bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.store.models import ArticleCount
from comments_service.verbs import json_bytes

DATA_DIR = "comments-data"
COUNTS_FILE = "counts.json"


def data_dir(site_dir: Path) -> Path:
    """Where a site's static thread files live."""
    return Path(site_dir) / DATA_DIR


def thread_path(site_dir: Path, article_id: str) -> Path:
    """The static copy of one article's thread."""
    return data_dir(site_dir) / f"{article_id}.json"


def thread_bytes(article_id: str, public_comments: list[dict[str, Any]]) -> bytes:
    """The API's answer for the thread, from the list public_threads.list_public gives."""
    # The same keys in the same order as public_threads.thread, so the bytes are equal.
    document = {"article_id": article_id, "count": len(public_comments),
                "comments": public_comments}
    return json_bytes.dumps(document)


def counts_bytes(counts: Mapping[str, int]) -> bytes:
    """counts.json: every baked article's approved comment count, sorted by id."""
    return json_bytes.dumps({article_id: counts[article_id] for article_id in sorted(counts)})


def approved_counts(session: Session, article_ids: Iterable[str]) -> dict[str, int]:
    """Approved comment counts for every article in article_ids (0 for those without any).

    One grouped query over the approved comments, not an IN list of every article: a
    library of thousands of articles would otherwise bind thousands of parameters.
    """
    found = approved_by_article(session)
    return {article_id: found.get(article_id, 0) for article_id in article_ids}


def approved_by_article(session: Session) -> dict[str, int]:
    """The approved comment count of every article that has at least one, in one query.

    From the per-article counters /api/counts reads (migration 0014), so the baked counts
    and the API's come from one place and a bake never groups the whole comments table.
    """
    return {
        article_id: int(count) for article_id, count in session.execute(
            select(ArticleCount.article_id, ArticleCount.approved)
            .where(ArticleCount.approved > 0)
        )
    }


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write data to path (atomically) unless it already holds exactly these bytes."""
    previous_second: int | None = None
    try:
        if path.read_bytes() == data:
            return False
        before = path.stat()
        mode = before.st_mode & 0o7777
        previous_second = int(before.st_mtime)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        # As MkDocs writes the pages beside it: readable by the web server.
        mode = 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # Renamed into place, so the static host never serves half a file; no fsync, as
        # for the pages (bake.write_atomically): the next bake rewrites a lost file.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_name, mode)
        if previous_second is not None:
            _move_to_a_later_second(tmp_name, previous_second)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return True


def _move_to_a_later_second(file_name: str, previous_second: int) -> None:
    """Give a rewritten file a modification time in a later whole second than before.

    Static hosts validate with whole seconds: Last-Modified, and nginx's ETag (mtime in
    seconds and size). A thread rewritten within the same second to the same size (a
    debounce under 1 s) would otherwise keep its validator, and browsers would be told
    their old copy is current.
    """
    now = os.stat(file_name)
    if int(now.st_mtime) <= previous_second:
        later = (previous_second + 1) * 1_000_000_000
        os.utime(file_name, ns=(now.st_atime_ns, later))


def remove_all(site_dir: Path) -> list[Path]:
    """Delete the site's static thread files (static_threads turned off); returns them.

    Left behind they would be served for ever, older with every staff action.
    """
    folder = data_dir(site_dir)
    removed = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
