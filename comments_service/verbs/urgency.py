"""Urgent-term matching: does a comment mention self-harm, suicide or a crisis?

Matching is case- and accent-insensitive and respects word boundaries, so "crisis" matches
"CRISIS" and "crísis" but not "crisises" inside another word, and "self-harm" matches
"self harm" too. A match only flags the comment for the moderation queue and shows the
reader crisis signposting; it never publishes or rejects anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-"})


def fold(text: str) -> str:
    """Lower-case, accent-free, with one kind of apostrophe and hyphen, for comparison."""
    folded = unicodedata.normalize("NFKD", text)
    if not folded.isascii():  # ASCII has no accents to strip; most comments are ASCII
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return folded.casefold().translate(_APOSTROPHES).translate(_DASHES)


@lru_cache(maxsize=16)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    alternatives = []
    for term in terms:
        words = re.split(r"[\s-]+", fold(term).strip())
        words = [w for w in words if w]
        if not words:
            continue
        # Words of a phrase may be separated by any run of spaces or hyphens in the text.
        alternatives.append(r"[\s-]+".join(re.escape(w) for w in words))
    if not alternatives:
        return None
    # Longest first so the reported term is the most specific one.
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def urgent_terms_in(text: str, terms: Iterable[str]) -> list[str]:
    """The urgent terms found in the text, folded, in order of appearance."""
    pattern = _pattern(tuple(terms))
    if pattern is None:
        return []
    return [match.group(0) for match in pattern.finditer(fold(text))]


def is_urgent(text: str, terms: Iterable[str]) -> bool:
    """True when the text mentions any of the urgent terms."""
    pattern = _pattern(tuple(terms))
    return pattern is not None and pattern.search(fold(text)) is not None
