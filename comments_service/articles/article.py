"""An article as the rest of the service sees it: its validated front matter and its URL."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

ARTICLE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Reference:
    """One structured citation from an article's front matter."""

    authors: tuple[str, ...]
    year: str
    title: str
    container: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    url: str = ""
    retrieved: str = ""
    publisher: str = ""
    type: str = "article"

    @property
    def link(self) -> str:
        """The best address for the work: its DOI resolver link, else its URL, else ""."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url


@dataclass(frozen=True)
class Article:
    """An article's validated front matter and where it lives in docs/."""

    id: str
    title: str
    description: str
    updated: dt.date
    source_path: str  # relative to docs_dir, with forward slashes
    url_path: str  # site-relative URL, e.g. "therapeutic-impasse/"
    tags: tuple[str, ...] = ()
    comments: str = "open"
    references: tuple[Reference, ...] = ()
    sample: bool = False


def url_path_for(source_path: str, use_directory_urls: bool = True) -> str:
    """The site-relative URL MkDocs gives a Markdown file (directory URLs by default)."""
    stem = source_path[: -len(".md")] if source_path.endswith(".md") else source_path
    parts = stem.split("/")
    if parts[-1] in ("index", "README"):
        parts = parts[:-1]
        return "/".join(parts) + ("/" if parts else "")
    if use_directory_urls:
        return stem + "/"
    return stem + ".html"
