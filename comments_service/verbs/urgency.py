"""Urgency: running the crisis detector on a comment, and the reasons kept with the flag.

The detector (``verbs.crisis``) recognises the ways people in danger write; this module
builds it once from the operator's settings (phrases added and removed), runs it on every
text a reader sends, and turns its matches into what staff see in the queue ("plans or
means: 'hoarding my meds'"). A flag only puts the comment first in the queue and shows the
reader crisis signposting; it never publishes or rejects anything.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from comments_service.config import Settings
from comments_service.verbs.crisis import CATEGORY_LABELS, Detector

# Long enough to show the phrase in its context, short enough for a queue row.
MAX_REASON_TEXT = 120

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-"})


def fold(text: str) -> str:
    """Lower-case, accent-free, with one kind of apostrophe and hyphen, for comparison."""
    folded = unicodedata.normalize("NFKD", text)
    if not folded.isascii():  # ASCII has no accents to strip; most comments are ASCII
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return folded.casefold().translate(_APOSTROPHES).translate(_DASHES)


@dataclass(frozen=True)
class Urgency:
    """The detector's verdict on everything one reader sent."""

    reasons: tuple[tuple[str, str], ...] = ()  # (category, matched text), in order

    @property
    def urgent(self) -> bool:
        return bool(self.reasons)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(category for category, _ in self.reasons))

    def to_json(self) -> str:
        """The reasons as stored in ``comments.urgent_reasons`` ("" when not urgent)."""
        return json.dumps([list(r) for r in self.reasons], ensure_ascii=False) if self else ""

    def __bool__(self) -> bool:
        return self.urgent


@lru_cache(maxsize=8)
def _detector(extra: tuple[str, ...], removed: tuple[str, ...]) -> Detector:
    return Detector(extra_phrases=extra, removed_phrases=removed)


def detector_for(settings: Settings) -> Detector:
    """The detector with the operator's added and removed phrases, compiled once."""
    return _detector(tuple(settings.urgent_terms), tuple(settings.urgent_terms_removed))


def assess(settings: Settings, *texts: str) -> Urgency:
    """Run the detector over each text (the comment, the name) and merge what it found."""
    detector = detector_for(settings)
    reasons: list[tuple[str, str]] = []
    for text in texts:
        if not text:
            continue
        for match in detector.detect(text).matches:
            reason = (match.category, " ".join(match.text.split())[:MAX_REASON_TEXT])
            if reason not in reasons:
                reasons.append(reason)
    return Urgency(tuple(reasons))


def merge(stored: str, found: Urgency) -> Urgency:
    """Stored reasons plus newly found ones, e.g. after a staff edit of the text."""
    return Urgency(tuple(dict.fromkeys([*parse_reasons(stored), *found.reasons])))


def parse_reasons(stored: str) -> list[tuple[str, str]]:
    """The (category, text) pairs kept in ``comments.urgent_reasons``; [] if none or unreadable."""
    if not stored:
        return []
    try:
        raw = json.loads(stored)
    except ValueError:
        return []
    return [(str(r[0]), str(r[1])) for r in raw if isinstance(r, list) and len(r) == 2]


def describe(stored: str) -> list[str]:
    """Human lines for the queue: "plans or means: 'hoarding my meds'"."""
    return [f"{CATEGORY_LABELS.get(category, category)}: '{text}'"
            for category, text in parse_reasons(stored)]


def category_labels(stored: str) -> list[str]:
    """The distinct category labels of the stored reasons, for a compact queue row."""
    pairs: Iterable[tuple[str, str]] = parse_reasons(stored)
    return list(dict.fromkeys(CATEGORY_LABELS.get(c, c) for c, _ in pairs))
