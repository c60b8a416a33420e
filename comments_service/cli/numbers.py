"""Argument types for the numbers commands take: ids and page numbers, checked at parse time.

argparse's ``type=int`` takes any integer, and one past the database's range reached the
query and ended in a traceback; these refuse it with argparse's usual message naming the
argument ("argument ID: ...") and exit status 2, before anything is opened.
"""

from __future__ import annotations

import argparse

from comments_service.store.ids import MAX_ID, MIN_ID
from comments_service.verbs.audit import MAX_PAGE


def _whole_number(text: str, low: int, high: int, what: str) -> int:
    stripped = text.strip()
    # int() also takes "١٢" and "1_000"; an id is typed in ASCII digits.
    if not (stripped.isascii() and stripped.isdigit()) or len(stripped) > 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    value = int(stripped)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def row_id(text: str) -> int:
    """A comment (or mail, template) id: a whole number from 1 to store.ids.MAX_ID."""
    return _whole_number(text, MIN_ID, MAX_ID, f"an id (a whole number from {MIN_ID} to "
                                               f"{MAX_ID})")


def page_number(text: str) -> int:
    """A listing's page: a whole number from 1 to verbs.audit.MAX_PAGE."""
    return _whole_number(text, 1, MAX_PAGE, f"a page number (1 to {MAX_PAGE})")
