"""The crisis detector: does a reader's comment show they, or someone, may be in danger?

A comment is *urgent* when it contains at least one match in one of seven categories
(``CATEGORIES``). Urgent comments go to the top of the moderation queue and the reader is
shown crisis resources; nothing is published or rejected because of a match.

How it works
------------
1. The text is folded (``normalise.fold``): lower case, accents and apostrophes removed,
   letter runs squeezed, with a map from every folded character back to the original.
2. Every loaded language runs on every text, because readers mix languages. A language is
   one data file ``languages/<code>.yaml``; adding a language is adding a file.
3. Each category's patterns are searched in the folded text. A match is then dropped when
   a *suppressor* (a calm frame such as statistics, research, training, an idiom, fiction
   or a recovered past) is found in its scope: the same clause, the same sentence, a window
   of words either side, or the whole text. Scoping keeps a present-tense risk statement
   in one sentence flagged even when another sentence talks about research.
4. A small linear model trained on the tuning corpus (``model``) reads every text. When it
   is all but sure the text is calm, it overrules the built-in patterns (never an
   operator's phrases); when no pattern fired and it finds the text urgent, its match
   names the words that weighed most. A long text is also read two sentences at a time,
   so one urgent sentence among many ordinary ones is not drowned out.
5. Matches are reported with offsets into the ORIGINAL text.

Data file schema (see the top of ``en.yaml`` for a worked description)
---------------------------------------------------------------------
``language`` (code), ``name``, ``clause_breaks`` (words that end a clause, e.g. "but"),
``gap_stopwords`` (words a ``~`` gap may not skip: other people's pronouns, negations),
``vocab`` (named regex fragments, used as ``{name}``; they may refer to each other),
``categories`` (category -> list of patterns) and ``suppressors`` (list of mappings with
``name``, ``scope`` = clause | sentence | text | ``{window: N}``, optional ``categories``,
``patterns``, optional ``unless`` (same scope; keeps the match) and optional ``requires``
(must also appear anywhere in the text)); every loaded language's suppressors apply to
every match, whatever language found it. In a pattern, a space matches any run of
separators within a sentence, ``~`` allows up to three filler words and ``~N`` up to N
(never a ``gap_stopwords`` word), and ``~~N`` up to N words of any kind.

Operators add phrases (``"category:phrase"`` or ``"phrase"`` for acute distress) and remove
built-in ones: a removed phrase drops every built-in match whose text contains it
(``"category:phrase"`` limits that to one category, ``"category:*"`` turns a category off).
Operator phrases are literal and never suppressed, so they behave exactly as configured.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from comments_service.verbs.crisis.languages import (
    CATEGORIES,
    SEPARATOR,
    Language,
    Suppressor,
    load_languages,
)
from comments_service.verbs.crisis.model import CrisisModel, Verdict, shipped_model
from comments_service.verbs.crisis.normalise import Folded, fold

CATEGORY_LABELS: dict[str, str] = {
    "suicidal_ideation": "suicidal thoughts",
    "self_harm": "self-harm",
    "plans_means": "plans or means",
    "farewell": "farewell",
    "third_party": "someone else at risk",
    "danger_from_others": "danger from another person",
    "acute_distress": "acute distress",
}
DEFAULT_CATEGORY = "acute_distress"
OPERATOR = "operator"
# The "language" of a match the trained model made rather than a pattern.
MODEL = "model"

_SENTENCE_BREAK = re.compile(r"[.!?;\n]+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Match:
    """One reason a text is urgent; ``text == original[start:end]``."""

    category: str
    start: int
    end: int
    text: str
    language: str


@dataclass(frozen=True)
class Detection:
    """Everything the detector found in one text."""

    matches: tuple[Match, ...]

    @property
    def urgent(self) -> bool:
        """True when anything was found."""
        return bool(self.matches)

    @property
    def categories(self) -> tuple[str, ...]:
        """The distinct categories found, in ``CATEGORIES`` order."""
        found = {m.category for m in self.matches}
        return tuple(c for c in CATEGORIES if c in found)

    def reasons(self) -> list[str]:
        """One line per match for the moderation queue, e.g. "farewell: 'goodbye all'"."""
        return [f"{CATEGORY_LABELS[m.category]}: '{m.text}'" for m in self.matches]


def _split_phrase(entry: str) -> tuple[str | None, str]:
    category, sep, phrase = entry.partition(":")
    if sep and category.strip() in CATEGORIES:
        return category.strip(), phrase.strip()
    return None, entry.strip()


def _literal(phrase: str) -> str:
    words = _WORD.findall(fold(phrase).text)
    return SEPARATOR.join(re.escape(w) for w in words)


class _Scopes:
    """Clause, sentence and word boundaries of one folded text, computed on demand."""

    def __init__(self, folded: str, clause_break: re.Pattern[str]) -> None:
        self.text = folded
        self._clause_break = clause_break
        self._sentences: list[int] | None = None
        self._clauses: list[int] | None = None
        self._words: list[int] | None = None
        # Many matches share a sentence or clause: remember each suppressor's verdict per
        # region so a long comment with many matches searches each region once.
        self.verdicts: dict[tuple[int, int, int], bool] = {}
        self.required: dict[int, bool] = {}

    @staticmethod
    def _bounds(breaks: list[int], start: int, end: int, length: int) -> tuple[int, int]:
        before = bisect_right(breaks, start) - 1
        after = bisect_left(breaks, end)
        return (breaks[before] if before >= 0 else 0,
                breaks[after] if after < len(breaks) else length)

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """Where the sentence around folded [start, end) starts and ends."""
        if self._sentences is None:
            self._sentences = [p for m in _SENTENCE_BREAK.finditer(self.text)
                               for p in (m.start(), m.end())]
        low, high = self._bounds(self._sentences, start, end, len(self.text))
        # Keep the closing mark so a suppressor can tell a question ("...?") apart.
        return low, min(high + 1, len(self.text))

    def region(self, suppressor: Suppressor, start: int, end: int) -> str:
        low, high = self.bounds(suppressor, start, end)
        return self.text[low:high]

    def bounds(self, suppressor: Suppressor, start: int, end: int) -> tuple[int, int]:
        """Where ``region`` starts and ends in the folded text."""
        length = len(self.text)
        if suppressor.scope == "text":
            return 0, length
        if suppressor.scope == "window":
            if self._words is None:
                self._words = [m.start() for m in _WORD.finditer(self.text)]
            first = max(bisect_right(self._words, start) - 1 - suppressor.window, 0)
            last = bisect_left(self._words, end) + suppressor.window
            low = self._words[first] if self._words else 0
            high = self._words[last] if last < len(self._words) else length
            return low, high
        if suppressor.scope == "sentence":
            return self.sentence(start, end)
        if self._clauses is None:
            self._clauses = [p for m in self._clause_break.finditer(self.text)
                             for p in (m.start(), m.end())]
        return self._bounds(self._clauses, start, end, length)


class Detector:
    """Finds crisis signals in comment text; build once, then call ``detect`` per text."""

    def __init__(self, languages: Iterable[str] | None = None,
                 extra_phrases: Iterable[str] = (), removed_phrases: Iterable[str] = (),
                 languages_dir: Path | None = None, use_model: bool = True,
                 model: CrisisModel | None = None) -> None:
        """Load and compile the languages and the operator's phrase changes.

        ``languages`` restricts the patterns to those data files (default: every one); the
        model, trained on every shipped language, still reads every text;
        ``extra_phrases`` and ``removed_phrases`` are the operator settings described in
        the module docstring; ``use_model`` adds the trained second opinion (``model``):
        the shipped one, or ``model`` when given (the trainer judges its cut-offs so).
        """
        if not use_model:
            model = None
        elif model is None:
            model = shipped_model()
        self._model = model
        self.languages: tuple[Language, ...] = tuple(load_languages(languages, languages_dir))
        breaks = sorted({w for lang in self.languages for w in lang.clause_breaks})
        words = "|".join(re.escape(w) for w in breaks)
        self._clause_break = re.compile(
            r"[.!?;:,\n]+" + (rf"|(?<!\w)(?:{words})(?!\w)" if words else ""))
        self._suppressors = tuple(s for lang in self.languages for s in lang.suppressors)
        self._extra = self._compile_extra(extra_phrases)
        self._disabled: set[str] = set()
        self._removed: list[tuple[str | None, re.Pattern[str]]] = []
        for entry in removed_phrases:
            category, phrase = _split_phrase(entry)
            if category and phrase == "*":
                self._disabled.add(category)
            elif _literal(phrase):
                self._removed.append(
                    (category, re.compile(rf"(?<!\w){_literal(phrase)}(?!\w)")))

    @staticmethod
    def _compile_extra(entries: Iterable[str]) -> dict[str, re.Pattern[str]]:
        by_category: dict[str, list[str]] = {}
        for entry in entries:
            category, phrase = _split_phrase(entry)
            source = _literal(phrase)
            if source:
                by_category.setdefault(category or DEFAULT_CATEGORY, []).append(source)
        return {
            # Longest first so the reported text is the most specific phrase.
            category: re.compile(r"(?<!\w)(?:" + "|".join(sorted(alts, key=len, reverse=True))
                                 + r")(?!\w)")
            for category, alts in by_category.items()
        }

    def _removed_match(self, category: str, found: str) -> bool:
        return category in self._disabled or any(
            (only is None or only == category) and pattern.search(found)
            for only, pattern in self._removed)

    def _suppressed(self, category: str, start: int, end: int, scopes: _Scopes) -> bool:
        for index, suppressor in enumerate(self._suppressors):
            if category not in suppressor.categories:
                continue
            low, high = scopes.bounds(suppressor, start, end)
            key = (index, low, high)
            verdict = scopes.verdicts.get(key)
            if verdict is None:
                region = scopes.text[low:high]
                verdict = bool(suppressor.pattern.search(region)) and not (
                    suppressor.unless is not None and suppressor.unless.search(region))
                scopes.verdicts[key] = verdict
            if not verdict:
                continue
            if suppressor.requires is not None:
                required = scopes.required.get(index)
                if required is None:
                    required = scopes.required[index] = bool(
                        suppressor.requires.search(scopes.text))
                if not required:
                    continue
            return True
        return False

    def detect(self, text: str) -> Detection:
        """Everything urgent in ``text``; an empty Detection means calm."""
        folded = fold(text)
        scopes = _Scopes(folded.text, self._clause_break)
        found: list[tuple[int, int, str, str]] = []
        for language in self.languages:
            for category, pattern in language.patterns.items():
                if category in self._disabled:
                    continue
                for hit in pattern.finditer(folded.text):
                    start, end = _trimmed(folded.text, *hit.span())
                    if start >= end or self._removed_match(category, hit.group()):
                        continue
                    if not self._suppressed(category, start, end, scopes):
                        found.append((start, end, category, language.code))
        model = self._model
        verdict = model.read(folded) if model is not None else None
        if (found and model is not None and verdict is not None and verdict.score < model.veto
                and model.may_overrule(verdict) and not self._would_flag(verdict)):
            # Only about 5% of the urgent texts the patterns find score this low: a built-in
            # pattern most likely caught the topic's words used calmly. A short text is
            # never overruled (CrisisModel.may_overrule), nor one the model would flag
            # itself: the patterns' own words then tell staff why. A match stays when
            # its own sentence does not read as calm, so a present risk stated beside a
            # calm frame ("the study was interesting. i want to kill myself though") is
            # still flagged; and in a language the model was not trained on (a language
            # added as a data file is words it has never seen), its patterns decide.
            found = [item for item in found
                     if item[3] not in model.languages
                     or model.score(folded.text[slice(*scopes.sentence(item[0], item[1]))])
                     >= model.veto]
        for category, pattern in self._extra.items():
            found.extend((hit.start(), hit.end(), category, OPERATOR)
                         for hit in pattern.finditer(folded.text) if hit.end() > hit.start())
        if not found and verdict is not None:
            found.extend(self._model_opinion(folded, verdict))
        return Detection(_to_matches(text, folded, found))

    def _model_opinion(self, folded: Folded, verdict: Verdict) -> list[tuple[int, int, str, str]]:
        # Asked only when no pattern fired: the model is there for the phrasings the
        # patterns do not know, and its verdict names the words that weighed most.
        assert self._model is not None
        flagging = self._flagging(folded, verdict)
        if flagging is None:
            return []
        if self._removed:
            # A phrase the operator removed counts for nothing, for the model as for the
            # patterns: the text is read again with it blanked out (same length, so the
            # spans still map back).
            blanked = folded.text
            for only, pattern in self._removed:
                if only is None or only == flagging.category:
                    blanked = pattern.sub(lambda hit: " " * len(hit.group()), blanked)
            if blanked != folded.text:
                again = replace(folded, text=blanked)
                flagging = self._flagging(again, self._model.read(again))
                if flagging is None:
                    return []
        start, end = ((flagging.start, flagging.end) if flagging.start >= 0
                      else (0, len(folded.text)))
        if start >= end or self._removed_match(flagging.category, folded.text[start:end]):
            return []
        return [(start, end, flagging.category, MODEL)]

    def _flagging(self, folded: Folded, verdict: Verdict) -> Verdict | None:
        # The whole text's verdict when it flags; else, in a long text, its most urgent
        # two-sentence window when that flags (CrisisModel.best_window); else None.
        assert self._model is not None
        if self._would_flag(verdict):
            return verdict
        window = self._model.best_window(folded)
        if window is not None and self._would_flag(window, self._model.window):
            return window
        return None

    def _would_flag(self, verdict: Verdict, cut_off: float | None = None) -> bool:
        # Above the cut-off (the model's threshold unless told) in a category left on.
        assert self._model is not None
        above = self._model.threshold if cut_off is None else cut_off
        return verdict.urgent(above) and verdict.category not in self._disabled


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    # A pattern may begin at a clause start, just before the space that follows a comma;
    # the reported text should start and end on the words themselves.
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def _to_matches(text: str, folded: Folded,
                found: list[tuple[int, int, str, str]]) -> tuple[Match, ...]:
    # Several languages or patterns can find the same words; report each stretch of text
    # once per category, keeping the longest match that starts there.
    found.sort(key=lambda item: (item[0], -item[1]))
    kept: list[tuple[int, int, str, str]] = []
    reach: dict[str, int] = {}
    for start, end, category, language in found:
        if start < reach.get(category, -1):
            continue
        kept.append((start, end, category, language))
        reach[category] = end
    matches = []
    for start, end, category, language in kept:
        low, high = folded.span(start, end)
        matches.append(Match(category, low, high, text[low:high], language))
    return tuple(matches)


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector with every built-in language and no operator changes."""
    return Detector()


def detect(text: str) -> Detection:
    """Detect with the cached default detector."""
    return default_detector().detect(text)
