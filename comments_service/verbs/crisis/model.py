"""A small linear model trained on the crisis corpus: the second opinion beside the patterns.

The patterns name what they find and never guess; but people in danger write in more ways
than any list of patterns holds. The model, trained on the tuning part of the corpus
(``tests/data/crisis/tune.jsonl``, by ``scripts/train_crisis_model.py``), is a
multinomial logistic regression over hashed features of the folded text: words, word
pairs, pairs one word apart, and three- to five-letter runs inside words (misspellings
and inflections share them: "hoardin"/"hoarding", "pastilla"/"pastillas"), each weighted
in training by how much more often urgent texts use it than calm ones (naive Bayes
log-count ratios, folded into the stored weights). Its classes are the seven urgent
categories and calm, and a text's score is the log-odds of any urgent category against
calm: a plan, a farewell and a partner's threat are said in different words, and one
plane between urgent and calm had to split them all at once. (On 8,407 texts by nineteen
writers, trained without them, the model alone as shipped found 92.5% of the urgent
texts at 3% false alarms, against 90.7% for one urgent-versus-calm regression; 95.4%
against 94.6% at 5%.) It reads every comment and does two things in the detector:

- above ``threshold`` it flags a comment no pattern caught, naming the words that weighed
  most and the likeliest category;
- below ``veto`` it overrules a built-in pattern whose own sentence also scores under it,
  in a text long enough to judge (``may_overrule``): the pattern then most likely caught
  the topic's words used calmly ("the bridge I designed", "cutting the roses back"). The
  veto sits where about one in twenty of the urgent texts the patterns find score lower:
  the patterns are surest on explicit words, which calm comments about the topic use
  too, and the calm comments it clears free room for the model to find more. A text the
  model would flag itself is never overruled, so its reasons stay the patterns' words.
  (Since the naive Bayes weighting the veto sits just above the threshold: in a long
  text the model's verdict decides whether it is urgent, and the patterns decide in
  short ones and in a sentence that reads as urgent on its own.)

A third cut-off, ``window``, is for long comments where the danger is said once among
ordinary sentences ("thanks for the article ... i have the pills saved up ... anyway the
section on sleep was useful"): the whole text's score divides that sentence's weight by
the length of everything around it. So a text of three or more sentences is also read
two sentences at a time (``best_window``), and a pair scoring above ``window`` flags it as
the whole text would. (On 6,160 texts by fourteen writers the model had not seen, at the
same false alarms, this found 1.5 to 1.6 points more of the urgent texts; on long
comments with the danger said once it had found only 83-85%.)

The veto is chosen on five held-out folds of the tuning part, the threshold and window on
the corpus's dev part (texts by writers none of whose texts are in the tuning part), with
these very weights and the patterns as the detector runs them (see the trainer); the
measured parts of the corpus are never used to train or tune it. The weights are
8-bit integers in ``model.bin`` (2**19 slots for each of the eight classes, 4 MB, held
as one array a class, no per-feature objects), so the model costs a process about
4 MB, needs no network, download or numeric library, and is deterministic: eight sums
over a few hundred array slots per comment. (A byte a weight scores as well as two did,
and pays for larger tables, where fewer features share a slot.)
"""

from __future__ import annotations

import json
import math
import re
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from comments_service.verbs.crisis.normalise import Folded

MODEL_FILE = Path(__file__).resolve().parent / "model.json"
WEIGHTS_FILE = MODEL_FILE.with_name("model.bin")
FORMAT_VERSION = 4
_TOKEN = re.compile(r"[a-z0-9]+")
# Where a sentence ends, for the two-sentence windows (``sentences``).
_SENTENCE_END = re.compile(r"[.!?;\n]+")
# Windows are read only in texts with at least this many sentences: in a text of two, a
# window is the text.
WINDOW_SENTENCES = 2
MIN_SENTENCES = WINDOW_SENTENCES + 1
# Letter runs of these lengths inside " word ": long enough to mean something, short
# enough to survive a typo.
RUN_LENGTHS = (3, 4, 5)


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
    """Each feature with the folded span it covers (-1, -1 for letter runs)."""
    for index, word in enumerate(words):
        yield "w:" + word.text, word.start, word.end
        if index + 1 < len(words):
            following = words[index + 1]
            yield f"b:{word.text}_{following.text}", word.start, following.end
        if index + 2 < len(words):
            # "want to die", "want 2 die", "want fucking die": the pair one word apart
            # survives the filler that breaks the adjacent pairs.
            yield f"s:{word.text}_{words[index + 2].text}", word.start, words[index + 2].end
        padded = f" {word.text} "
        for length in RUN_LENGTHS:
            for at in range(len(padded) - length + 1):
                yield "c:" + padded[at:at + length], -1, -1


def bucket(name: str, bits: int) -> int:
    """The weight slot of a feature: a CRC-32, stable across processes and machines."""
    return zlib.crc32(name.encode("utf-8")) & ((1 << bits) - 1)


# CRC-32 continues from a prefix's checksum, so "c:" + run hashes without building the
# string: crc32(run, crc32(b"c:")) == crc32(b"c:" + run).
_WORD_SEED, _PAIR_SEED, _SKIP_SEED, _RUN_SEED = (
    zlib.crc32(prefix) for prefix in (b"w:", b"b:", b"s:", b"c:"))


@lru_cache(maxsize=2048)
def _runs(word: str, bits: int) -> tuple[int, ...]:
    # A word's letter runs depend on the word alone, and comments reuse their words.
    padded = f" {word} ".encode()
    mask = (1 << bits) - 1
    return tuple(zlib.crc32(padded[at:at + length], _RUN_SEED) & mask
                 for length in RUN_LENGTHS for at in range(len(padded) - length + 1))


def feature_buckets(folded: str, bits: int) -> dict[int, tuple[int, int]]:
    """The distinct slots ``features`` fills, each with the first word span that filled it.

    The same as hashing every feature ``features`` yields with ``bucket`` (a test checks
    it), computed without building the feature strings.
    """
    mask = (1 << bits) - 1
    words = tokens(folded)
    found: dict[int, tuple[int, int]] = {}
    runs: set[int] = set()
    encoded = [w.text.encode() for w in words]
    count = len(words)
    for index, word in enumerate(words):
        found.setdefault(zlib.crc32(encoded[index], _WORD_SEED) & mask, (word.start, word.end))
        if index + 1 < count:
            slot = zlib.crc32(encoded[index] + b"_" + encoded[index + 1], _PAIR_SEED) & mask
            found.setdefault(slot, (word.start, words[index + 1].end))
        if index + 2 < count:
            slot = zlib.crc32(encoded[index] + b"_" + encoded[index + 2], _SKIP_SEED) & mask
            found.setdefault(slot, (word.start, words[index + 2].end))
        runs.update(_runs(word.text, bits))
    for slot in runs:
        found.setdefault(slot, (-1, -1))
    return found


def sentences(folded: str) -> list[tuple[int, int]]:
    """The folded text's sentences that hold a word, as [start, end) spans, in order."""
    spans, start = [], 0
    for mark in _SENTENCE_END.finditer(folded):
        spans.append((start, mark.start()))
        start = mark.end()
    spans.append((start, len(folded)))
    return [(low, high) for low, high in spans if _TOKEN.search(folded, low, high)]


def window_slots(folded: str, bits: int) -> list[dict[int, tuple[int, int]]]:
    """The feature slots of each run of WINDOW_SENTENCES sentences, with folded spans.

    A window's features are its sentences' features (``feature_buckets`` of each
    sentence on its own, spans moved to the whole text); none when the text has fewer than
    MIN_SENTENCES sentences.
    """
    spans = sentences(folded)
    if len(spans) < MIN_SENTENCES:
        return []
    per_sentence = []
    for low, high in spans:
        slots = feature_buckets(folded[low:high], bits)
        per_sentence.append({slot: (a + low, b + low) if a >= 0 else (a, b)
                             for slot, (a, b) in slots.items()})
    windows = []
    for first in range(len(per_sentence) - WINDOW_SENTENCES + 1):
        merged: dict[int, tuple[int, int]] = {}
        for slots in per_sentence[first:first + WINDOW_SENTENCES]:
            for slot, span in slots.items():
                merged.setdefault(slot, span)
        windows.append(merged)
    return windows


@dataclass(frozen=True)
class Verdict:
    """The model's reading of one text."""

    score: float  # log-odds urgent versus calm
    category: str  # the likeliest urgent category
    start: int  # folded span of the strongest evidence, -1 when none
    end: int
    features: int = 0  # distinct feature slots the text filled

    def urgent(self, threshold: float) -> bool:
        """Whether the score is above the given cut-off."""
        return self.score > threshold


def _tables(raw: bytes, size: int, count: int) -> list[array]:
    # One array per class, so a class's weights are gathered by one itemgetter call; each
    # is filled from a view of the file's bytes, with no whole-file array in between.
    if len(raw) != size * count:
        raise ValueError(f"crisis model: the weights file holds {len(raw)} weights, "
                         f"expected {size * count}")
    view = memoryview(raw)
    tables = []
    for k in range(count):
        table = array("b")
        table.frombytes(view[k * size:(k + 1) * size])
        tables.append(table)
    return tables


class CrisisModel:
    """Multinomial logistic regression over hashed features: each urgent category, and calm."""

    def __init__(self, data: dict[str, object], weights: bytes) -> None:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"crisis model: version must be {FORMAT_VERSION}")
        self.bits = int(data["bits"])  # type: ignore[call-overload]
        # The urgent categories, in the order of their tables; calm's table comes last.
        self.classes: list[str] = list(data["classes"])  # type: ignore[call-overload]
        self.threshold = float(data["threshold"])  # type: ignore[arg-type]
        self.veto = float(data["veto"])  # type: ignore[arg-type]
        self.window = float(data["window"])  # type: ignore[arg-type]
        self._biases = [float(b) for b in data["biases"]]  # type: ignore[attr-defined]
        self._scale = float(data["scale"])  # type: ignore[arg-type]
        self.min_features = int(data["min_features"])  # type: ignore[call-overload]
        self.languages = frozenset(data["languages"])  # type: ignore[arg-type]
        size = 1 << self.bits
        tables = len(self.classes) + 1
        if len(self._biases) != tables:
            raise ValueError(f"crisis model: biases must hold {tables} values, one per class")
        self._tables = _tables(weights, size, tables)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> CrisisModel:
        """The model shipped with the package (or another file and its ``.bin``, for tests)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data, path.with_suffix(".bin").read_bytes())

    def score(self, folded: str) -> float:
        """The log-odds that an already folded text is urgent."""
        return self._score(feature_buckets(folded, self.bits))[0]

    def may_overrule(self, verdict: Verdict) -> bool:
        """Whether the text was long enough for the model to overrule a pattern.

        A text with fewer than ``min_features`` features (about eight words) is scored as
        if it had that many, so its score says little either way; there the patterns,
        which are surest on short explicit statements ("suicide is on my mind every
        day"), decide alone.
        """
        return verdict.features >= self.min_features

    def _norm(self, count: int) -> float:
        # Rows are scaled to unit length, but never by less than a few words' worth: a
        # two-word comment ("nice one") must not weigh as much as a paragraph.
        return math.sqrt(max(count, self.min_features))

    def read(self, folded: Folded) -> Verdict:
        """Score a folded text, name its likeliest category and the words that weigh most."""
        return self._verdict(feature_buckets(folded.text, self.bits))

    def best_window(self, folded: Folded) -> Verdict | None:
        """The highest-scoring two-sentence window of a long text (None for a short one)."""
        best: tuple[float, int] | None = None
        best_slots: dict[int, tuple[int, int]] = {}
        for slots in window_slots(folded.text, self.bits):
            scored = self._score(slots)
            if best is None or scored[0] > best[0]:
                best, best_slots = scored, slots
        return None if best is None else self._verdict(best_slots, best)

    def _score(self, slots: dict[int, tuple[int, int]]) -> tuple[float, int]:
        # Each class's logit; urgent is any urgent category, so the score is the log of
        # their summed odds against calm's. Also returns the likeliest urgent class.
        step = self._scale / self._norm(len(slots))
        keys = list(slots)
        if len(keys) > 1:
            # itemgetter gathers a class's weights in one C call: four times a map's speed.
            gather = itemgetter(*keys)
            sums = [sum(gather(table)) for table in self._tables]
        else:
            sums = [sum(table[key] for key in keys) for table in self._tables]
        logits = [bias + step * total
                  for bias, total in zip(self._biases, sums, strict=True)]
        urgent, calm = logits[:-1], logits[-1]
        top = max(range(len(urgent)), key=urgent.__getitem__)
        peak = urgent[top]
        return peak + math.log(sum(math.exp(z - peak) for z in urgent)) - calm, top

    def _verdict(self, slots: dict[int, tuple[int, int]],
                 scored: tuple[float, int] | None = None) -> Verdict:
        score, top = self._score(slots) if scored is None else scored
        # The evidence shown to staff: the words that most favour the likeliest category
        # over calm.
        chosen, calm_table = self._tables[top], self._tables[-1]
        best, best_span = 0, (-1, -1)
        for slot, span in slots.items():
            if span[0] >= 0:
                weight = chosen[slot] - calm_table[slot]
                if weight > best:
                    best, best_span = weight, span
        return Verdict(score, self.classes[top], *best_span, features=len(slots))


@lru_cache(maxsize=1)
def shipped_model() -> CrisisModel:
    """The packaged model, loaded once per process."""
    return CrisisModel.load()
