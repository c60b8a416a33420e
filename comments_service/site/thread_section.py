"""What a baked comments section shows: the first page of a thread, and links to the rest.

The article page's own ``<section class="cs-comments">`` tag says how (the partial writes
it from mkdocs.yml): ``data-order`` (the editor's thread_order, oldest or newest first),
``data-service`` (where the service answers) and ``data-state`` (open or closed). Reading
them from the page lets `comments-service bake`, the re-baker and the MkDocs build write the
same bytes without sharing the MkDocs configuration.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from comments_service.i18n import N_
from comments_service.verbs import thread_pages

# The sentences the baked section adds for long threads, for a later translation pass.
TEXT = {
    "more": N_("Show more comments"),
    "shown": N_("({shown} of {count} shown)"),
}

_SECTION_START = '<section class="cs-comments"'
_ATTRIBUTE = re.compile(r'(data-[a-z-]+)="([^"]*)"')


@dataclass(frozen=True)
class SectionOptions:
    """How one page's comments section is baked."""

    order: str = thread_pages.DEFAULT_ORDER
    service: str = ""
    open: bool = True


def section_options(match: re.Match[Any]) -> SectionOptions:
    """The options of the section around a comments:begin marker match (text or bytes)."""
    source = match.string
    needle = _SECTION_START.encode() if isinstance(source, bytes) else _SECTION_START
    start = source.rfind(needle, 0, match.start())
    if start < 0:
        return SectionOptions()
    end = source.find(b">" if isinstance(source, bytes) else ">", start)
    tag = source[start:end + 1]
    text = tag.decode("utf-8", "replace") if isinstance(tag, bytes) else tag
    attributes = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(text)}
    order = attributes.get("data-order", "")
    return SectionOptions(
        order=order if order in thread_pages.ORDERS else thread_pages.DEFAULT_ORDER,
        service=attributes.get("data-service", "").rstrip("/"),
        open=attributes.get("data-state", "open") == "open",
    )


def thread_url(options: SectionOptions, article_id: str, page: int) -> str:
    """The service's page of the full thread: works without JavaScript."""
    return (f"{options.service}/comments/{quote(article_id)}?order={options.order}"
            f"&page={page}")


def reply_url(options: SectionOptions, article_id: str, comment_id: int) -> str:
    """The service's reply form for one comment (the no-JavaScript way to answer it)."""
    return f"{options.service}/comments/{quote(article_id)}/reply/{comment_id}"


def first_page(public_comments: list[dict[str, Any]], options: SectionOptions,
               page_size: int) -> tuple[list[dict[str, Any]], bool]:
    """The comments of the first page in the section's order, and whether more follow."""
    chains = thread_pages.groups(public_comments, options.order)
    shown = chains[:page_size]
    return [comment for chain in shown for comment in chain], len(chains) > page_size
