"""What a reader sends: its fields checked one by one, and the errors a post can meet."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store.ids import storable_id
from comments_service.verbs.render import normalize_newlines
from comments_service.verbs.visible_text import is_blank

MAX_AUTHOR = 80
MAX_BODY = 5000
MAX_EMAIL = 254
MAX_EMAIL_LOCAL = 64
# Depth 0 is a top-level comment; replies nest down to depth 3. A reply to a depth-3
# comment attaches to that comment's depth-2 parent (its level-3 ancestor), landing beside it.
MAX_DEPTH = 3

FIELD_LABELS = i18n.Messages({
    "author": N_("Name"),
    "email": N_("Email"),
    "body": N_("Comment"),
    "parent_id": N_("Reply to"),
    "notify": N_("Notify me"),
    "accept_terms": N_("Terms"),
    "website": N_("Website"),
    "request": N_("Request body"),
})


def tr(message: str, **variables: Any) -> str:
    """A message id (marked with N_) in the language in force, %(name)s filled in."""
    return i18n.Translator(i18n.current()).gettext(message, **variables)

_DUPLICATE = (
    N_("This comment has already been posted on this article."),
    N_("You have already posted this comment here; it is awaiting moderation or "
       "already published."),
)

# Errors ----------------------------------------------------------------------------------


class CommentError(Exception):
    """A comment the service refuses, with an HTTP-like status and a message per field."""

    status_code = 400

    def __init__(self, detail: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, str] = dict(errors or {})


class InvalidComment(CommentError):
    status_code = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        labels = ", ".join(FIELD_LABELS.get(name, name) for name in errors)
        super().__init__(tr(N_("Please correct: %(labels)s."), labels=labels), errors)


class ArticleNotFound(CommentError):
    status_code = 404


class CommentsNotOpen(CommentError):
    status_code = 403


class DuplicateComment(CommentError):
    status_code = 409


def duplicate_error() -> DuplicateComment:
    """The refusal of a comment already posted, in the language in force."""
    detail, body = _DUPLICATE
    return DuplicateComment(tr(detail), {"body": tr(body)})


class Refused(CommentError):
    """A post a blocklist rule refuses; the sentence must not say that a block exists."""

    status_code = 422

    def __init__(self) -> None:
        super().__init__(tr(N_("Sorry, this comment cannot be posted.")))


class RateLimited(CommentError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(i18n.Translator(i18n.current()).ngettext(
            "You have posted several comments in a short time. Please try again in about "
            "%(num)d minute.",
            "You have posted several comments in a short time. Please try again in about "
            "%(num)d minutes.", minutes))
        self.retry_after = retry_after


# Validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A reader's comment after validation: clean text, ready to store."""

    author: str
    email: str
    body: str
    parent_id: int | None = None
    notify: bool = False


# Control characters (Unicode category Cc, NUL included) and lone surrogates (Cs); format
# characters such as the zero-width joiner in emoji and right-to-left marks are legitimate.
_BAD_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_characters(text: str, allowed: str = "") -> bool:
    if not allowed:
        return _BAD_CHARACTER.search(text) is not None
    return any(ch not in allowed for ch in _BAD_CHARACTER.findall(text))


def validate_submission(data: Mapping[str, Any]) -> Submission:
    """Check a reader's fields, raising InvalidComment with one message per bad field.

    ``data`` holds typed values (str, int or None, bool); the web layer converts form
    strings first. Text is NFC-normalised and otherwise kept exactly as typed.
    """
    errors: dict[str, str] = {}

    author_raw = data.get("author")
    author = ""
    if author_raw is None or author_raw == "":
        errors["author"] = tr(N_("Name is required."))
    elif isinstance(author_raw, str) and is_blank(author_raw):
        errors["author"] = tr(N_("Name must not be blank."))
    elif not isinstance(author_raw, str):
        errors["author"] = tr(N_("Name must be text."))
    else:
        author = unicodedata.normalize("NFC", author_raw.strip())
        if _bad_characters(author):
            errors["author"] = tr(N_("Name must not contain control characters or line breaks."))
        elif len(author) > MAX_AUTHOR:
            errors["author"] = tr(N_("Name must be at most %(max)s characters."), max=MAX_AUTHOR)

    email_raw = data.get("email")
    email = ""
    if email_raw is None or (isinstance(email_raw, str) and not email_raw.strip()):
        errors["email"] = tr(N_("Email is required."))
    elif not isinstance(email_raw, str):
        errors["email"] = tr(N_("Email must be text."))
    elif "\r" in email_raw or "\n" in email_raw:
        errors["email"] = tr(N_("Email must not contain line breaks."))
    else:
        candidate = email_raw.strip()
        if _bad_characters(candidate) or len(candidate) > MAX_EMAIL:
            errors["email"] = tr(N_("Email is not a valid address."))
        elif len(candidate.rpartition("@")[0].encode("utf-8")) > MAX_EMAIL_LOCAL:
            # RFC 5321's limit, which email_validator leaves to its callers.
            errors["email"] = tr(N_("Email is not a valid address: the part before the @ may "
                                    "be at most %(max)s characters."), max=MAX_EMAIL_LOCAL)
        else:
            try:
                # No DNS look-up: the service must answer without the network, and mail
                # confirmation (double opt-in) proves the address anyway.
                checked = validate_email(candidate, check_deliverability=False)
                email = checked.normalized
            except EmailNotValidError:
                errors["email"] = tr(N_("Email is not a valid address (for example "
                                        "name@example.org)."))

    body_raw = data.get("body")
    body = ""
    if body_raw is None or body_raw == "":
        errors["body"] = tr(N_("Comment is required."))
    elif isinstance(body_raw, str) and is_blank(body_raw):
        errors["body"] = tr(N_("Comment must not be blank."))
    elif not isinstance(body_raw, str):
        errors["body"] = tr(N_("Comment must be text."))
    else:
        body = unicodedata.normalize("NFC", normalize_newlines(body_raw).strip())
        if _bad_characters(body, allowed="\n\t"):
            errors["body"] = tr(N_("Comment must not contain control characters."))
        elif len(body) > MAX_BODY:
            errors["body"] = tr(N_("Comment must be at most %(max)s characters (it has "
                                   "%(has)s)."), max=f"{MAX_BODY:,}", has=f"{len(body):,}")

    parent_raw = data.get("parent_id")
    parent_id: int | None = None
    if parent_raw is not None:
        if not storable_id(parent_raw):
            errors["parent_id"] = tr(N_("Reply to must name an existing comment."))
        else:
            parent_id = parent_raw

    notify = data.get("notify", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        errors["notify"] = tr(N_("Notify me must be true or false."))

    if data.get("accept_terms") is not True:
        errors["accept_terms"] = tr(N_("Please accept the terms of use to post a comment."))

    if errors:
        raise InvalidComment(errors)
    return Submission(author=author, email=email, body=body, parent_id=parent_id,
                      notify=bool(notify))
