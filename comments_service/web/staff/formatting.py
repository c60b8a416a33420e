"""Jinja filters every staff template shares: one date format, in the reader's zone, and counts.

Kept apart from the templates so a page never formats a date by itself: ``{{ when |
staff_time }}`` reads the viewing account's zone from the page context (``staff_zone``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from comments_service import i18n
from comments_service.i18n import Nn_
from comments_service.verbs.staff_time import format_staff_time, machine_time

# Nouns whose plural is not the noun plus "s".
_PLURALS = {"reply": "replies", "entry": "entries", "person": "people"}
# The counted nouns the staff pages use, as catalogue messages (plural rules differ).
_COUNTED = {
    "comment": Nn_("%(num)d comment", "%(num)d comments"),
    "failed mail": Nn_("%(num)d failed mail", "%(num)d failed mails"),
    "open report": Nn_("%(num)d open report", "%(num)d open reports"),
    "reported comment": Nn_("%(num)d reported comment", "%(num)d reported comments"),
}


def plural(count: int, noun: str, plural_form: str = "") -> str:
    """ "1 comment", "4 comments": the count with its noun, in the right number."""
    if noun in _COUNTED and not plural_form:
        return i18n.Translator(i18n.current()).ngettext(*_COUNTED[noun], count)
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_form or _PLURALS.get(noun, noun + 's')}"


def _zone(context: jinja2.runtime.Context) -> ZoneInfo:
    zone = context.get("staff_zone")
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


@jinja2.pass_context
def staff_time_text(context: jinja2.runtime.Context, when: datetime | None) -> str:
    """The moment as text in the viewer's zone, e.g. "1 Dec 2026, 09:30 CET"."""
    return format_staff_time(when, _zone(context))


@jinja2.pass_context
def staff_time(context: jinja2.runtime.Context, when: datetime | None) -> Markup:
    """A <time> element: UTC for machines, the viewer's zone for people."""
    if when is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(
        machine_time(when), escape(format_staff_time(when, _zone(context))))


def install(env: jinja2.Environment) -> None:
    """Register the filters on the staff templates' environment."""
    filters: dict[str, Any] = {"staff_time": staff_time, "staff_time_text": staff_time_text,
                               "plural": plural}
    env.filters.update(filters)
