"""Folding comment text for matching, with a map from folded offsets back to the original.

Patterns are written against folded text (lower case, no accents, no apostrophes, one kind
of dash, letter runs of three or more squeezed to two) so that "I\u2019M", "Im" and "im" or
"daño" and "dano" all look alike. Moderators must see what the reader actually wrote, so
every folded character remembers which original character it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Apostrophes are dropped rather than unified: readers type "cant", "can't" and "can\u2019t"
# interchangeably, and dropping them lets one pattern ("cant") cover all three.
_DROPPED = frozenset("'\u2019\u2018\u02bc`\u00b4")
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2015": "-", "\u2212": "-"})


@dataclass(frozen=True)
class Folded:
    """Folded text plus, for each folded character, the index of its original character."""

    text: str
    origin: Sequence[int]
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) that the folded [start, end) came from."""
        if start >= end:
            at = self.origin[start] if start < len(self.origin) else self.original_length
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


_RUN = re.compile(r"([a-z])\1\1")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _DROPPED:
        return ""
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().translate(_DASHES)


def fold(text: str) -> Folded:
    """Fold text for matching; see the module docstring for what folding does."""
    if text.isascii():
        lowered = text.lower()
        # Most comments are plain ASCII with nothing to drop or squeeze: the offsets are
        # then the identity and need no per-character work.
        if "'" not in lowered and "`" not in lowered and not _RUN.search(lowered):
            return Folded(lowered, range(len(text)), len(text))
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            # "pleaseeee" and "heeelp" are how people type when upset; squeezing runs of
            # three or more letters keeps patterns simple. Two are kept ("sorry", "feel").
            if piece.isalpha() and len(out) >= 2 and out[-1] == piece and out[-2] == piece:
                continue
            out.append(piece)
            origin.append(index)
    return Folded("".join(out), origin, len(text))


def fold_pattern(pattern: str) -> str:
    """Strip accents and apostrophes from a pattern so it matches folded text.

    Case is left alone because regex escapes such as \\W and \\S depend on it; patterns
    are written in lower case.
    """
    decomposed = unicodedata.normalize("NFKD", pattern)
    kept = (c for c in decomposed if not unicodedata.combining(c) and c not in _DROPPED)
    return "".join(kept).translate(_DASHES)
