"""Paging a public thread by top-level comment: orders, cursors, and the page holding a comment.

A page carries whole reply chains: each top-level comment with all its replies, so a
conversation never splits across pages. Top-level comments are ordered by their public
timestamp (second precision, as the API shows it) and id, oldest or newest first; replies
stay oldest first under their parent. A cursor names the last top-level comment a page
carried (its timestamp and id), so a comment removed meanwhile moves no other comment to
another page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

ORDERS = ("oldest", "newest")
DEFAULT_ORDER = "oldest"
# Enough for the live script to re-read every top-level comment a reader has loaded.
MAX_LIMIT = 1000
_CURSOR_RE = re.compile(r"^(\d{8}T\d{6}Z)\.([1-9]\d{0,18})$")

Group = list[dict[str, Any]]


class PageRequestError(ValueError):
    """A paging parameter the service cannot use, with a message naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PageRequest:
    """Which part of a thread to answer."""

    order: str = DEFAULT_ORDER
    limit: int = 50
    cursor: tuple[str, int] | None = None
    around: int | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.order, self.limit, self.cursor, self.around)


def parse_request(params: dict[str, str], default_limit: int) -> PageRequest:
    """order, limit, cursor and around from query parameters, or PageRequestError."""
    order = params.get("order") or DEFAULT_ORDER
    if order not in ORDERS:
        raise PageRequestError("order", "order must be oldest or newest.")
    limit = default_limit
    if params.get("limit"):
        limit = _whole_number(params["limit"], "limit")
        if not 1 <= limit <= MAX_LIMIT:
            raise PageRequestError("limit", f"limit must be between 1 and {MAX_LIMIT}.")
    cursor = None
    if params.get("cursor"):
        match = _CURSOR_RE.match(params["cursor"])
        if match is None:
            raise PageRequestError("cursor", "cursor is not one this service handed out.")
        cursor = (match[1], int(match[2]))
    around = None
    if params.get("around"):
        around = _whole_number(params["around"], "around")
    if cursor is not None and around is not None:
        raise PageRequestError("around", "Give either cursor or around, not both.")
    return PageRequest(order, limit, cursor, around)


def _whole_number(text: str, field: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise PageRequestError(field, f"{field} must be a whole number.")
    return int(text)


def groups(public_comments: list[dict[str, Any]], order: str = DEFAULT_ORDER) -> list[Group]:
    """The thread as reply chains: each top-level comment followed by all its replies."""
    ids = {c["id"] for c in public_comments}
    children: dict[int, list[dict[str, Any]]] = defaultdict(list)
    roots: list[dict[str, Any]] = []
    for comment in public_comments:
        parent = comment.get("parent_id")
        if parent is not None and parent in ids:
            children[parent].append(comment)
        else:
            roots.append(comment)
    roots.sort(key=_sort_key, reverse=order == "newest")
    out: list[Group] = []
    for root in roots:
        chain: Group = []
        stack = [root]
        while stack:
            comment = stack.pop()
            chain.append(comment)
            stack.extend(reversed(children.get(comment["id"], ())))
        out.append(chain)
    return out


def _sort_key(comment: dict[str, Any]) -> tuple[str, int]:
    return (_compact(comment["created_at"]), comment["id"])


def _compact(rfc3339: str) -> str:
    # "2026-11-26T09:00:00Z" -> "20261126T090000Z": sorts the same, reads well in a URL.
    return rfc3339.replace("-", "").replace(":", "")


def cursor_after(chain: Group) -> str:
    """The cursor that continues after this reply chain."""
    root = chain[0]
    return f"{_compact(root['created_at'])}.{root['id']}"


def page(public_comments: list[dict[str, Any]], request: PageRequest) -> dict[str, Any]:
    """{"comments": [...], "next_cursor": str | None} for the request.

    ``around`` answers every chain from the first up to the end of the page holding that
    comment, so the script can show it in place; KeyError when it is not public here.
    """
    chains = groups(public_comments, request.order)
    start = 0
    if request.cursor is not None:
        start = _first_after(chains, request.cursor, request.order)
        end = start + request.limit
    elif request.around is not None:
        at = _chain_holding(chains, request.around)
        end = (at // request.limit + 1) * request.limit
    else:
        end = request.limit
    chosen = chains[start:end]
    more = end < len(chains) and bool(chosen)
    return {
        "comments": [comment for chain in chosen for comment in chain],
        "next_cursor": cursor_after(chosen[-1]) if more else None,
    }


def _first_after(chains: list[Group], cursor: tuple[str, int], order: str) -> int:
    for index, chain in enumerate(chains):
        key = _sort_key(chain[0])
        if (key > cursor) if order == "oldest" else (key < cursor):
            return index
    return len(chains)


def _chain_holding(chains: list[Group], comment_id: int) -> int:
    for index, chain in enumerate(chains):
        if any(comment["id"] == comment_id for comment in chain):
            return index
    raise KeyError(comment_id)


def page_number_of(public_comments: list[dict[str, Any]], comment_id: int, order: str,
                   page_size: int) -> int:
    """The 1-based numbered page (of page_size chains) holding the comment; KeyError if none."""
    return _chain_holding(groups(public_comments, order), comment_id) // page_size + 1
