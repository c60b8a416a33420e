"""Duplicate article ids: which file introduced the clash, and what to tell its editor.

Comment threads are keyed by an article's id, so when two files claim one id the older
file keeps it (its comments are filed under it) and the newer file is the one to change.
"Older" is when git first saw the file, or its modification time outside a git checkout.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Claim:
    """One file's claim on an id: where it is and whether its front matter is valid."""

    rel: str
    path: Path
    valid: bool


@lru_cache(maxsize=4096)
def introduced_at(path: Path) -> float:
    """When the file first appeared: its first commit in git, else its modification time."""
    try:
        out = subprocess.run(
            # No --follow: a copied article (the usual way a clash starts) looks to git like
            # a rename of its original, and would inherit the original's age.
            ["git", "log", "--diff-filter=A", "--format=%ct", "--", path.name],
            cwd=path.parent, capture_output=True, text=True, timeout=10, check=False,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    if out:
        # git lists newest first; the last line is when the file was first added.
        return float(out[-1])
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def order_claims(claims: list[Claim]) -> list[Claim]:
    """Oldest claim first; ties (same second) fall back to the path, so the order is stable."""
    return sorted(claims, key=lambda claim: (introduced_at(claim.path), claim.rel))


def suggestion(article_id: str, taken: set[str]) -> str:
    """A free id near the clashing one, to offer the editor of the newer file."""
    number = 2
    while f"{article_id}-{number}" in taken:
        number += 1
    return f"{article_id}-{number}"


def clash_message(article_id: str, keeper: Claim, taken: set[str]) -> str:
    """What the newer file's editor reads: who keeps the id, and what to use instead."""
    return (f"'{article_id}' is already the id of {keeper.rel}, which keeps it (comment "
            f"threads are filed under an article's id, so never change that one); give this "
            f"article another id, such as '{suggestion(article_id, taken)}'")
