"""Warnings for editors: things a build accepts but a reader should never see.

Today that is the new-article template's placeholder text left in place. They are warnings,
not problems, so a draft still previews with ``mkdocs serve``; ``check-docs`` prints them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from comments_service.articles.problems import Problem

TEMPLATE = Path(__file__).resolve().parent / "article_template.md"
_DESCRIPTION_RE = re.compile(r'^description:\s*"(?P<text>.*)"\s*$', re.MULTILINE)


@lru_cache(maxsize=1)
def placeholder_description() -> str:
    """The description the new-article template writes, for spotting it left unchanged."""
    match = _DESCRIPTION_RE.search(TEMPLATE.read_text(encoding="utf-8"))
    return match.group("text") if match else ""


def editor_warnings(rel: str, metadata: dict[str, Any]) -> list[Problem]:
    """Warnings for one valid article's front matter."""
    warnings = []
    description = metadata.get("description")
    if isinstance(description, str) and description.strip() == placeholder_description():
        warnings.append(Problem(rel, "description", "is still the template's placeholder; "
                                "write one or two sentences about this article"))
    return warnings
