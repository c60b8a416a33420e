"""The page script's messages: short keys for comments.js, English ids for the catalogues.

comments.js names each sentence by key (t("sending")) and reads the translations from a
JSON block the MkDocs partial bakes into the page in the site's language, so the script
file carries no sentences and stays inside its size budget whatever the language. The
English texts below are message ids like any other: Babel extracts them (N_), and
tests/test_translations.py checks every key the script uses is here.
"""

from __future__ import annotations

import json
import re

from comments_service import i18n
from comments_service.i18n import N_, Nn_

# key -> message id. Placeholders are %(name)s in the catalogues, {name} in the script.
MESSAGES: dict[str, str] = {
    "none": N_("No comments yet."),
    "more": N_("Show more comments"),
    "moreFailed": N_("More comments could not be loaded. Please try again."),
    "awaiting": N_("Awaiting moderation"),
    "onlyYou": N_("Only you can see this until a moderator approves it."),
    "staff": N_("Staff"),
    "report": N_("Report"),
    "note": N_("Content note: %(note)s"),
    "reply": N_("Reply"),
    "to": N_("to %(author)s"),
    "loadFailed": N_("Comments could not be loaded. Please try again later."),
    "sending": N_("Sending your comment…"),
    "noAnswer": N_("Your comment could not be sent: the comments service did not answer. "
                   "Check your connection and try again; what you wrote is still here."),
    "kept": N_("What you wrote is still here."),
    "sentWaiting": N_("Comment sent: it is awaiting moderation."),
    "sentPublished": N_("Comment sent: it is published."),
    "thanks": N_("Thank you: your comment was received and is awaiting moderation. It will "
                 "appear here once a moderator has approved it."),
    "closed": N_("Comments on this article are closed, so your comment was not sent."),
    "notSent": N_("Your comment was not sent. What you wrote, to copy:"),
    "tooMany": N_("You have sent several comments in a short time. Please try again in "
                  "%(wait)s."),
    "tooLong": N_("Your comment is too long to send. Please shorten it and try again."),
    "failed": N_("Your comment could not be sent because of a problem on our side (error "
                 "%(status)s). Please try again later."),
    "paused": N_("Comments are paused."),
    "helpNow": N_("If you need help now:"),
    "offhours": N_("Our team is not reading comments right now: replies wait until %(when)s."),
    "nextTime": N_("the next staffed time"),
    "helpBefore": N_("Need help before then? Contact one of these now:"),
    "replying": N_("Replying to %(author)s."),
    "needName": N_("Please enter your name."),
    "needEmail": N_("Please enter your email address."),
    "badEmail": N_("Please enter an email address such as name@example.org."),
    "needBody": N_("Please write your comment."),
    "needTerms": N_("Please confirm that you accept the terms of use."),
}

# key -> (singular, plural): the script picks the form with Intl.PluralRules.
PLURALS: dict[str, tuple[str, str]] = {
    "count": Nn_("%(num)d comment", "%(num)d comments"),
    "fresh": Nn_("%(num)d new comment", "%(num)d new comments"),
    "minutes": Nn_("%(num)d minute", "%(num)d minutes"),
    "fields": Nn_("Please correct the field marked below.",
                  "Please correct the %(num)d fields marked below."),
}

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _script_form(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "{n}" if m[1] == "num" else "{" + m[1] + "}", text)


def catalogue(language: str) -> dict[str, object]:
    """The script's messages in one language: text per key, a form per plural category."""
    t = i18n.Translator(language)
    out: dict[str, object] = {key: _script_form(t.catalog.gettext(message))
                              for key, message in MESSAGES.items()}
    for key, (singular, plural) in PLURALS.items():
        out[key] = {category: _script_form(form.replace("{n}", "%(num)d"))
                    for category, form in t.plural_forms(singular, plural).items()}
    return out


def catalogue_json(language: str) -> str:
    """The catalogue as the page's <script type="application/json"> block holds it."""
    text = json.dumps(catalogue(language), ensure_ascii=False, separators=(",", ":"))
    # Inside a <script> element "</" would end it; \u003c reads the same to JSON.parse.
    return text.replace("<", "\\u003c")
