"""Crisis signposting as HTML: the configured resources rendered once for every page.

The MkDocs partial (beside the form, the hidden urgent alert), the baked thread (the
paused notice) and the service's own no-JavaScript pages all take their markup from here,
so a reader sees the same numbers wherever they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from comments_service import i18n
from comments_service.config import Settings
from comments_service.verbs import crisis_resources, staffed_hours
from comments_service.verbs.crisis_resources import CrisisResource

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
OFFHOURS_NOTE = i18n.N_(
    "Our team reads comments during staffed hours; a comment sent outside them waits "
    "until the next staffed time for a reply."
)


@lru_cache(maxsize=8)
def _macros(language: str = ""):  # type: ignore[no-untyped-def]
    # Autoescaping: each macro returns Markup, with the configured text escaped in it.
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    # "": the service's pages, in the language of the request being served.
    i18n.install(env, language or None)
    return env.get_template("_crisis.html").module


@dataclass(frozen=True)
class Signposts:
    """The resources of one configuration, with each piece of page markup."""

    resources: tuple[CrisisResource, ...]
    crisis_message: str
    has_staffed_hours: bool
    # The page's language (the site build); "" follows the request being served.
    language: str = ""

    @property
    def danger_line(self) -> Markup:
        """One sentence with the tappable numbers, for beside the comment form."""
        return _macros(self.language).danger_line(self.resources)

    @property
    def help_list(self) -> Markup:
        """Every resource with its number, text line, web address and hours."""
        return _macros(self.language).help_list(self.resources)

    @property
    def urgent_alert(self) -> Markup:
        """The alert block shown after an urgent post (hidden until targeted or shown)."""
        message = i18n.Translator(self.language or i18n.current()).gettext(self.crisis_message)
        return _macros(self.language).urgent_alert(self.resources, message)

    def paused_block(self, message: str) -> Markup:
        """What replaces the form while comments are paused."""
        return _macros(self.language).paused_block(self.resources, message)

    @property
    def offhours_note(self) -> str:
        """The static page's generic sentence; the script says when, from the service."""
        if not self.has_staffed_hours:
            return ""
        return i18n.Translator(self.language or i18n.current()).gettext(OFFHOURS_NOTE)

    @property
    def resources_json(self) -> str:
        return crisis_resources.to_json(self.resources)


def signposts_for(settings: Settings, language: str = "") -> Signposts:
    """The signposts the settings describe; raises ValueError naming a bad field.

    ``language`` fixes the markup's language (a site build); "" follows each request.
    """
    return Signposts(
        resources=crisis_resources.resources_for(settings),
        crisis_message=settings.crisis_message,
        has_staffed_hours=not staffed_hours.from_settings(settings).always,
        language=language,
    )
