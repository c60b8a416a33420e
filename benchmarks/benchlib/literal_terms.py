"""The old urgent-term matcher, kept as the baseline the crisis detector is compared with.

A copy of what ``comments_service/verbs/urgency.py`` did before the detector: 19 literal
terms matched case- and accent-blind on word boundaries, words separated by spaces or
hyphens. The service module is being replaced, so the benchmark keeps its own copy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

OLD_TERMS: tuple[str, ...] = (
    "suicide", "suicidal", "kill myself", "killing myself", "end my life", "ending my life",
    "take my own life", "want to die", "better off dead", "self-harm", "self harm",
    "hurt myself", "hurting myself", "cutting myself", "overdose", "no reason to live",
    "can't go on", "cannot go on", "crisis",
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-"})


def fold(text: str) -> str:
    """Lower-case, accent-free, with one kind of apostrophe and hyphen."""
    folded = unicodedata.normalize("NFKD", text)
    if not folded.isascii():
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return folded.casefold().translate(_APOSTROPHES).translate(_DASHES)


def compile_terms(terms: Iterable[str] = OLD_TERMS) -> re.Pattern[str] | None:
    """One pattern for all the terms, longest first, or None when there are none."""
    alternatives = []
    for term in terms:
        words = [w for w in re.split(r"[\s-]+", fold(term).strip()) if w]
        if words:
            alternatives.append(r"[\s-]+".join(re.escape(w) for w in words))
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


class LiteralMatcher:
    """The old matcher: urgent when any term occurs."""

    def __init__(self, terms: Iterable[str] = OLD_TERMS) -> None:
        self._pattern = compile_terms(terms)

    def terms_in(self, text: str) -> list[str]:
        """The folded terms found, in order of appearance."""
        if self._pattern is None:
            return []
        return [m.group(0) for m in self._pattern.finditer(fold(text))]

    def is_urgent(self, text: str) -> bool:
        """True when the text mentions any term."""
        return self._pattern is not None and self._pattern.search(fold(text)) is not None
