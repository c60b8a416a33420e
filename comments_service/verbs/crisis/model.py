"""A small naive Bayes model trained on the crisis corpus: a second opinion beside the patterns.

The patterns name what they find and never guess; but people in danger write in more ways
than any list of patterns holds. The model, trained on the tuning part of the corpus
(``tests/data/crisis/tune.jsonl``, by ``scripts/train_crisis_model.py``), recognises texts
that read like the urgent ones there even when no pattern fires: word pairs and letter
runs that urgent comments share, weighed against the calm comments that use the same words.

It is deterministic (counts in a JSON file, no randomness), needs no network or download,
and costs a dictionary look-up per feature. Its threshold was chosen on held-out folds of
the tuning part so that the model alone raises at most about 1.5% false alarms there; the
measured part of the corpus is never used to train or tune it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from comments_service.verbs.crisis.normalise import Folded

MODEL_FILE = Path(__file__).resolve().parent / "model.json"
FORMAT_VERSION = 1
# Add-one smoothing: a feature seen in one class only still leaves the other possible.
ALPHA = 1.0
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Token:
    """A word of the folded text and where it stands there."""

    text: str
    start: int
    end: int


def tokens(folded: str) -> list[Token]:
    """The folded text's words, with their offsets in the folded text."""
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(folded)]


def features(words: list[Token]) -> Iterator[tuple[str, int, int]]:
    """Each feature with the folded span it covers: words, word pairs, 4-letter runs."""
    for index, word in enumerate(words):
        yield word.text, word.start, word.end
        if index + 1 < len(words):
            following = words[index + 1]
            yield f"{word.text}_{following.text}", word.start, following.end
    # Letter runs across word boundaries catch misspellings and inflections ("hoardin",
    # "pastillas"/"pastilla") that whole words miss.
    joined = " " + " ".join(w.text for w in words) + " "
    for index in range(len(joined) - 3):
        yield "c:" + joined[index:index + 4], -1, -1


def feature_set(text: str) -> set[str]:
    """The distinct features of an already folded text (what training counts)."""
    return {name for name, _, _ in features(tokens(text))}


@dataclass(frozen=True)
class Verdict:
    """The model's reading of one text."""

    score: float  # log-odds urgent versus calm
    category: str
    start: int  # folded span of the strongest evidence, -1 when none
    end: int

    def urgent(self, threshold: float) -> bool:
        return self.score > threshold


class CrisisModel:
    """Naive Bayes over binary features: urgent versus calm, and the likeliest category."""

    def __init__(self, data: dict[str, object]) -> None:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"crisis model: version must be {FORMAT_VERSION}")
        self.classes: list[str] = list(data["classes"])  # type: ignore[call-overload]
        self.docs: dict[str, int] = dict(data["docs"])  # type: ignore[call-overload]
        self.threshold = float(data["threshold"])  # type: ignore[arg-type]
        counts: dict[str, list[int]] = data["features"]  # type: ignore[assignment]
        urgent_docs, calm_docs = self.docs["urgent"], self.docs["calm"]
        # Precomputed per feature: the log-ratio urgent/calm, and per category its log-odds.
        self._ratio: dict[str, float] = {}
        self._per_class: dict[str, list[float]] = {}
        for name, row in counts.items():
            urgent, calm, *by_class = row
            self._ratio[name] = (math.log((urgent + ALPHA) / (urgent_docs + 2 * ALPHA))
                                 - math.log((calm + ALPHA) / (calm_docs + 2 * ALPHA)))
            self._per_class[name] = [
                math.log((n + ALPHA) / (self.docs[c] + 2 * ALPHA))
                for n, c in zip(by_class, self.classes, strict=True)]
        self._prior = math.log(urgent_docs / calm_docs)
        self._class_prior = [math.log(self.docs[c] / urgent_docs) for c in self.classes]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> CrisisModel:
        """The model shipped with the package (or another file, for tests)."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def read(self, folded: Folded) -> Verdict:
        """Score a folded text and point at the words that weigh most for urgency."""
        score = self._prior
        by_class = list(self._class_prior)
        best, best_span = 0.0, (-1, -1)
        seen: set[str] = set()
        for name, start, end in features(tokens(folded.text)):
            if name in seen:
                continue
            seen.add(name)
            ratio = self._ratio.get(name)
            if ratio is None:
                continue
            score += ratio
            for index, value in enumerate(self._per_class[name]):
                by_class[index] += value
            if start >= 0 and ratio > best:
                best, best_span = ratio, (start, end)
        category = self.classes[max(range(len(self.classes)), key=by_class.__getitem__)]
        return Verdict(score, category, *best_span)


@lru_cache(maxsize=1)
def shipped_model() -> CrisisModel:
    """The packaged model, loaded once per process."""
    return CrisisModel.load()


def train(texts: Iterable[tuple[str, bool, str | None]], classes: list[str],
          threshold: float, min_count: int = 2) -> dict[str, object]:
    """Counts for a model from (folded text, urgent, first category) triples.

    Features seen fewer than ``min_count`` times are dropped: they carry little evidence
    and most of the file's size.
    """
    docs = {"urgent": 0, "calm": 0, **{c: 0 for c in classes}}
    counts: dict[str, list[int]] = {}
    for text, urgent, category in texts:
        docs["urgent" if urgent else "calm"] += 1
        if urgent and category:
            docs[category] += 1
        for name in feature_set(text):
            row = counts.setdefault(name, [0] * (2 + len(classes)))
            row[0 if urgent else 1] += 1
            if urgent and category:
                row[2 + classes.index(category)] += 1
    kept = {name: row for name, row in sorted(counts.items())
            if row[0] + row[1] >= min_count}
    return {"version": FORMAT_VERSION, "classes": classes, "docs": docs,
            "threshold": round(threshold, 3), "features": kept}
