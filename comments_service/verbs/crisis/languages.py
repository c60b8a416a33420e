"""Loading and compiling the per-language data files in ``languages/``.

Each ``<code>.yaml`` file is one language; the schema is documented at the top of
``en.yaml`` and in ``detector.py``. Everything is compiled here, once, into plain
``re.Pattern`` objects so that detecting is only regex searches over folded text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The standard library's own regex parser, used to find which characters a pattern can
# start with (see compile_alternatives), and its compiler, which checks one pattern without
# keeping it in re's cache (hundreds of fragments would stay resident in every process).
# Private, but stable across 3.11+.
from re import _compiler, _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import yaml

from comments_service.verbs.crisis.normalise import fold_pattern

LANGUAGES_DIR = Path(__file__).with_name("languages")

CATEGORIES: tuple[str, ...] = (
    "suicidal_ideation",
    "self_harm",
    "plans_means",
    "farewell",
    "third_party",
    "danger_from_others",
    "acute_distress",
)

# A space in a pattern stands for any run of separators inside one sentence: spaces,
# commas, hyphens, quotes, slashes. Sentence ends are left out so that a phrase cannot be
# stitched together from the end of one sentence and the start of the next. It may also be
# empty where no word precedes it (the start of a clause, or after an optional group that
# already ended with a space), so "{cs} want" matches at the very start of a text.
SEPARATOR = r"(?:[^\w.!?;\n]+|(?<!\w))"
_GAP = re.compile(r" (~~?)(\d*) ")
_VOCAB_REF = re.compile(r"\{(\w+)\}")
SCOPES = ("clause", "sentence", "text")


class LanguageFileError(ValueError):
    """A language data file does not follow the schema."""


@dataclass(frozen=True)
class Suppressor:
    """A calm frame: found within ``scope`` of a match, it cancels that match."""

    name: str
    scope: str  # "clause", "sentence", "text" or "window"
    window: int  # words either side, when scope is "window"
    categories: frozenset[str]
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None  # in the same scope, this keeps the match after all
    requires: re.Pattern[str] | None  # must also appear somewhere in the whole text


@dataclass(frozen=True)
class Language:
    """One compiled language file."""

    code: str
    name: str
    patterns: Mapping[str, re.Pattern[str]]  # category -> its patterns as one regex
    suppressors: tuple[Suppressor, ...]
    clause_breaks: tuple[str, ...]


def _expand(pattern: str, vocab: Mapping[str, str], where: str, depth: int = 0) -> str:
    if depth > 8:
        raise LanguageFileError(f"{where}: vocabularies nest too deeply")

    def substitute(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in vocab:
            raise LanguageFileError(f"{where}: unknown vocabulary {{{name}}}")
        return "(?:" + _expand(vocab[name], vocab, where, depth + 1) + ")"

    return _VOCAB_REF.sub(substitute, pattern)


def _gap_filler(stopwords: Iterable[str]) -> str:
    words = "|".join(re.escape(fold_pattern(w)) for w in stopwords)
    # A filler word may not be one of the stopwords: "me ~ want to die" must not match
    # "tells me they want to die", nor "i ~ want" match "i dont want".
    return rf"(?!(?:{words})(?!\w))\w+" if words else r"\w+"


def compile_fragment(pattern: str, vocab: Mapping[str, str], where: str,
                     filler: str = r"\w+") -> str:
    """Turn one data-file pattern into regex source over folded text (no word boundaries;
    ``compile_alternatives`` adds those)."""
    expanded = _expand(fold_pattern(str(pattern)).strip(), vocab, where)

    def gap(found: re.Match[str]) -> str:
        words = int(found.group(2) or 3)
        # "~~" skips any words, stopwords included: for third-person and danger patterns,
        # where "he wont stop hitting me" must pass over "wont".
        word = r"\w+" if found.group(1) == "~~" else filler
        return f"{SEPARATOR}(?:{word}{SEPARATOR}){{0,{words}}}"

    # Gaps first: " ~ " would otherwise have its spaces turned into separators.
    spaced = _GAP.sub(gap, f" {expanded} ").strip()
    source = spaced.replace(" ", SEPARATOR)
    try:
        _compiler.compile(source, 0)
    except re.error as error:
        raise LanguageFileError(f"{where}: bad pattern {pattern!r}: {error}") from error
    return source


def compile_alternatives(patterns: Iterable[str], vocab: Mapping[str, str], where: str,
                         filler: str = r"\w+") -> re.Pattern[str] | None:
    """One regex matching any of the patterns, or None when there are none.

    The regex engine would otherwise try every pattern at every word start. Grouping the
    patterns by the set of characters they can start with, behind a one-character
    lookahead, lets it skip most of them at once; patterns that may start anywhere (a zero-width
    clause start) are tried last. Word boundaries wrap the whole alternation for the same
    reason.
    """
    sources = [compile_fragment(p, vocab, where, filler) for p in _merge_anchors(patterns)]
    if not sources:
        return None
    by_chars: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for source in sources:
        chars = _first_chars(_parser.parse(source).data)
        if chars is None:
            anywhere.append(source)
        else:
            key = "".join(re.escape(c) for c in sorted(chars))
            by_chars.setdefault(key, []).append(source)
    groups = [f"(?=[{key}])(?:{'|'.join(alts)})" for key, alts in by_chars.items()]
    groups += anywhere
    return re.compile(r"(?<!\w)(?:" + "|".join(groups) + r")(?!\w)")


_ANCHOR = re.compile(r"(\{\w+\} ~~?\d* )(.+)$")


def _merge_anchors(patterns: Iterable[str]) -> list[str]:
    """Merge patterns that open with the same "{vocab} ~N " into one alternation.

    "{i} ~3 {want} ~2 {act}" and "{i} ~3 {think} ~2 {acting}" become
    "{i} ~3 (?:{want} ~2 {act}|{think} ~2 {acting})", so the engine looks for the subject
    and the words after it once, not once per pattern.
    """
    merged: dict[str, list[str]] = {}
    for pattern in patterns:
        found = _ANCHOR.match(str(pattern).strip())
        key, rest = (found.group(1), found.group(2)) if found else ("", str(pattern))
        merged.setdefault(key, []).append(rest)
    result = merged.pop("", [])
    result += [f"{key}(?:{'|'.join(rests)})" for key, rests in merged.items()]
    return result


def _first_chars(items: Any) -> set[str] | None:
    """The characters a parsed regex can start with, or None when it could be anything."""
    found: set[str] = set()
    for op, arg in items:
        if op in (_constants.AT, _constants.ASSERT, _constants.ASSERT_NOT):
            continue  # zero width: the first character comes from what follows
        if op is _constants.LITERAL:
            return found | {chr(arg)}
        if op is _constants.IN:
            chars = _class_chars(arg)
            return None if chars is None else found | chars
        if op is _constants.BRANCH:
            for alternative in arg[1]:
                chars = _first_chars(alternative)
                if chars is None:
                    return None
                found |= chars
            return found
        if op is _constants.SUBPATTERN:
            chars = _first_chars(arg[3])
            return None if chars is None else found | chars
        if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT):
            chars = _first_chars(arg[2])
            if chars is None:
                return None
            found |= chars
            if arg[0] > 0:
                return found
            continue  # optional: the next item may come first
        return None
    return None  # everything was optional or zero width


def _class_chars(items: Any) -> set[str] | None:
    chars: set[str] = set()
    for op, arg in items:
        if op is _constants.LITERAL:
            chars.add(chr(arg))
        elif op is _constants.RANGE and arg[1] - arg[0] < 128:
            chars.update(chr(c) for c in range(arg[0], arg[1] + 1))
        else:
            return None
    return chars


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LanguageFileError(f"{where}: expected a list of strings")
    return list(value)


def _suppressor(raw: Any, vocab: Mapping[str, str], where: str, filler: str) -> Suppressor:
    if not isinstance(raw, dict):
        raise LanguageFileError(f"{where}: a suppressor must be a mapping")
    name = str(raw.get("name", "unnamed"))
    where = f"{where} {name}"
    scope = raw.get("scope", "sentence")
    window = 0
    if isinstance(scope, dict) and "window" in scope:
        window, scope = int(scope["window"]), "window"
    elif scope not in SCOPES:
        raise LanguageFileError(f"{where}: scope must be one of {SCOPES} or {{window: N}}")
    categories = _strings(raw.get("categories"), where) or list(CATEGORIES)
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise LanguageFileError(f"{where}: unknown categories {sorted(unknown)}")
    def alternatives(key: str) -> re.Pattern[str] | None:
        return compile_alternatives(_strings(raw.get(key), where), vocab, where, filler)

    pattern = alternatives("patterns")
    if pattern is None:
        raise LanguageFileError(f"{where}: a suppressor needs patterns")
    return Suppressor(
        name=name, scope=str(scope), window=window, categories=frozenset(categories),
        pattern=pattern,
        unless=alternatives("unless"),
        requires=alternatives("requires"),
    )


def load_language(path: Path) -> Language:
    """Read and compile one language file (cached until the file changes)."""
    stat = path.stat()
    return _load_language(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load_language(path: Path, mtime_ns: int, size: int) -> Language:
    # Compiling a language takes a noticeable fraction of a second; detectors built with
    # different operator phrases share the compiled, immutable Language.
    del mtime_ns, size  # part of the cache key only
    where = path.name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise LanguageFileError(f"{where}: expected a mapping at the top level")
    vocab = {str(k): str(v) for k, v in (data.get("vocab") or {}).items()}
    filler = _gap_filler(_strings(data.get("gap_stopwords"), where))
    raw_categories = data.get("categories") or {}
    unknown = set(raw_categories) - set(CATEGORIES)
    if unknown:
        raise LanguageFileError(f"{where}: unknown categories {sorted(unknown)}")
    patterns: dict[str, re.Pattern[str]] = {}
    for category in CATEGORIES:
        context = f"{where} {category}"
        compiled = compile_alternatives(_strings(raw_categories.get(category), context),
                                        vocab, context, filler)
        if compiled is not None:
            patterns[category] = compiled
    suppressors = tuple(_suppressor(raw, vocab, f"{where} suppressor", filler)
                        for raw in data.get("suppressors") or [])
    return Language(
        code=str(data.get("language", path.stem)),
        name=str(data.get("name", path.stem)),
        patterns=patterns,
        suppressors=suppressors,
        clause_breaks=tuple(fold_pattern(w) for w in _strings(data.get("clause_breaks"), where)),
    )


def available(languages_dir: Path | None = None) -> list[str]:
    """Codes of the languages with a data file, in sorted order."""
    directory = languages_dir or LANGUAGES_DIR
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_languages(codes: Iterable[str] | None = None,
                   languages_dir: Path | None = None) -> list[Language]:
    """Compile the named languages (all available ones when ``codes`` is None)."""
    directory = languages_dir or LANGUAGES_DIR
    wanted = available(directory) if codes is None else list(codes)
    missing = [c for c in wanted if not (directory / f"{c}.yaml").is_file()]
    if missing:
        raise LanguageFileError(f"no language file for {missing} in {directory}")
    return [load_language(directory / f"{code}.yaml") for code in wanted]
