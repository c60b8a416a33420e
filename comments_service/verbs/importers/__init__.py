"""Importing comments from WordPress, Disqus and Isso.

Each source has a parser module turning its export into the neutral records
(records.Export); html_body turns old bodies into our plain text. The parsers know
nothing of our database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import disqus, isso, wordpress
from .records import Export, ImportSourceError

Parser = Callable[..., Export]

PARSERS: dict[str, Parser] = {
    wordpress.SYSTEM: wordpress.parse,
    disqus.SYSTEM: disqus.parse,
    isso.SYSTEM: isso.parse,
}


def parse_export(kind: str, path: Path,
                 progress: Callable[[int, int], None] | None = None) -> Export:
    """The export at ``path`` read by the parser for ``kind`` (wordpress, disqus, isso)."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise ImportSourceError(path, f"unknown source kind '{kind}'; use one of: "
                                f"{', '.join(PARSERS)}")
    return parser(path, progress=progress)
