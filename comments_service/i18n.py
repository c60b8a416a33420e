"""Translations: the message catalogues, the language in force, dates and text direction.

Every layer may use it and it imports no layer, like config.py. Catalogues are the .po
files under comments_service/locale/, read with Babel's read_po when first needed, so no
compile step stands between an edit and the running service. A language without a
catalogue falls back to the English message ids (its dates and direction still follow it).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_context

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"

_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "comments_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translated where it is shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural pair for extraction (keyword Nn_:1,2 in babel.cfg's extraction)."""
    return singular, plural


class Term(str):
    """A value that is itself a message id ("rejected"): a Refusal translates it too."""


class Refusal(ValueError):
    """Refused input; ``field`` names the input at fault. The message is an N_() id with
    %(name)s filled from values: str() stays English ("field: message", for logs and the
    CLI) and text() reads the message, without the field, in the language in force."""

    def __init__(self, field: str, message: str, **values: Any) -> None:
        self.field = field
        self.message_id = message
        self.values = values
        super().__init__(f"{field}: {message % values if values else message}")

    def text(self) -> str:
        catalog = translations(current())
        values = {name: catalog.gettext(value) if isinstance(value, Term) else value
                  for name, value in self.values.items()}
        text = catalog.gettext(self.message_id)
        return text % values if values else text


def refused(sentence: str, problem: Refusal, **variables: Any) -> str:
    """A whole sentence around a refusal, e.g. N_("Reply %(problem)s."), in the language
    in force: its other %(name)s come from variables."""
    return translations(current()).gettext(sentence) % {"problem": problem.text(), **variables}


class Messages(Mapping[str, str]):
    """A table of message ids that reads back in the language in force: TEXT["back"] is
    "Volver al artículo" while serving in Spanish. Mark each value with N_()."""

    def __init__(self, ids: dict[str, str]) -> None:
        self._ids = ids

    def __getitem__(self, key: str) -> str:
        return translations(current()).gettext(self._ids[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def normalise(language: str | None) -> str:
    """A language tag as Babel spells it ("es", "pt_BR"); "en" for none or nonsense."""
    tag = (language or "").strip().replace("-", "_")
    if not tag:
        return DEFAULT_LANGUAGE
    try:
        return str(Locale.parse(tag))
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LANGUAGE


def shipped_languages() -> list[str]:
    """The languages with a catalogue under locale/."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue for a language: its own, else its base language's, else none."""
    tag = normalise(language)
    for candidate in (tag, tag.split("_")[0]):
        po = LOCALE_DIR / candidate / "LC_MESSAGES" / "messages.po"
        if po.is_file():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=candidate)
            return _from_catalog(catalog)
    return NullTranslations()


def _from_catalog(catalog: Any) -> Translations:
    """A Translations object from a parsed catalogue, without writing a .mo file."""
    from io import BytesIO

    from babel.messages.mofile import write_mo

    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


_HTML_LANG = re.compile(rb"<html[^>]*\slang=\"([A-Za-z0-9_-]+)\"")


def resolve(configured: str, site_dir: Path | str | None = None) -> str:
    """The service's language: COMMENTS_LANGUAGE, else the built site's <html lang>
    (Material writes theme.language there), else English."""
    if configured.strip():
        return normalise(configured)
    index = Path(site_dir) / "index.html" if site_dir else None
    if index is not None and index.is_file():
        # Every Notifier (one per staff request) asks; the page changes only when the site
        # is rebuilt, so it is read again only when its mtime or size moves.
        stat = index.stat()
        found = _site_language(str(index), stat.st_mtime_ns, stat.st_size)
        if found:
            return found
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=8)
def _site_language(index: str, mtime_ns: int, size: int) -> str | None:
    with open(index, "rb") as handle:
        found = _HTML_LANG.search(handle.read(4096))
    return normalise(found[1].decode("ascii")) if found else None


def direction(language: str | None) -> str:
    """ "rtl" or "ltr": the value of <html dir> for the language."""
    try:
        locale = Locale.parse(normalise(language))
    except (ValueError, UnknownLocaleError):
        return "ltr"
    return "rtl" if locale.text_direction == "rtl" else "ltr"


def html_lang(language: str | None) -> str:
    """The language as <html lang> writes it ("pt-BR")."""
    return normalise(language).replace("_", "-")


class Translator:
    """One language's messages and dates, for code that knows which language it writes in
    (mails, the bake); templates use the callables install() gives them."""

    def __init__(self, language: str | None) -> None:
        self.language = normalise(language)
        self.catalog = translations(self.language)

    def gettext(self, message: str, **variables: Any) -> str:
        """The message translated, then %(name)s filled from variables."""
        text = self.catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        """The plural form for n; %(num)d is n."""
        text = self.catalog.ngettext(singular, plural, n)
        return text % {"num": n, **variables}

    def pgettext(self, context: str, message: str, **variables: Any) -> str:
        """The message in a context (one English word, two meanings)."""
        text = self.catalog.pgettext(context, message)
        return text % variables if variables else text

    def datetime(self, value: datetime | str) -> str:
        """A UTC moment in the catalogue's pattern and the language's month names."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return format_datetime(value, _date_pattern(self.catalog), tzinfo=UTC,
                               locale=self.language)

    def plural_forms(self, singular: str, plural: str) -> dict[str, str]:
        """Per CLDR plural category ("one", "other", ...), the form with {n} for the number:
        what the page's script picks from with Intl.PluralRules."""
        locale = Locale.parse(self.language)
        forms: dict[str, str] = {}
        for n in range(0, 200):
            category = locale.plural_form(n)
            if category not in forms:
                forms[category] = self.catalog.ngettext(singular, plural, n).replace(
                    "%(num)d", "{n}")
        return forms


def _date_pattern(catalog: NullTranslations) -> str:
    # The pattern is itself a message, so each catalogue words its dates (Spanish adds
    # 'de'); English keeps the wording the pages always had: "26 November 2026, 09:00 UTC".
    return catalog.gettext(N_("d MMMM y, HH:mm 'UTC'"))


def current() -> str:
    """The language of the request or job being served."""
    return _current.get()


@contextmanager
def using(language: str | None) -> Iterator[None]:
    """Serve in a language for the duration (a request, a mail being written)."""
    token = _current.set(normalise(language))
    try:
        yield
    finally:
        _current.reset(token)


def _now_catalog() -> NullTranslations:
    return translations(current())


def install(env: Environment, language: str | None = None) -> Environment:
    """Give a Jinja environment _(), gettext, ngettext, pgettext and {% trans %}.

    With a language the environment always speaks it (the bake); without one it follows
    the language in force (using(), set per request by the service).
    """
    env.add_extension("jinja2.ext.i18n")
    if language is not None:
        fixed = translations(normalise(language))
        env.install_gettext_translations(fixed, newstyle=True)  # type: ignore[attr-defined]
        env.globals["html_lang"] = lambda: html_lang(language)
        env.globals["html_dir"] = lambda: direction(language)
        env.filters["translate"] = fixed.gettext
        return env
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _follow(lambda c: c.gettext), _follow(lambda c: c.ngettext), newstyle=True,
        pgettext=_follow(lambda c: c.pgettext), npgettext=_follow(lambda c: c.npgettext))
    env.globals["html_lang"] = lambda: html_lang(current())
    env.globals["html_dir"] = lambda: direction(current())
    # {{ title | translate }}: a message id held in a variable, escaped like any text
    # (_() would mark it safe and %-format it).
    env.filters["translate"] = lambda message: _now_catalog().gettext(message)
    return env


def _follow(pick: Callable[[NullTranslations], Callable[..., str]]) -> Callable[..., str]:
    @pass_context
    def call(_context: Any, *args: Any) -> str:
        return pick(_now_catalog())(*args)

    return call

