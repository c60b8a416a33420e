"""The MkDocs plugin's page work, done after a build without it (Zensical, for one).

A Zensical build runs no MkDocs plugin, so its pages carry no comments script or
stylesheet, no formatted references and no crisis signposts. The overrides leave markers
instead (README, "Building with Zensical"), and `comments-service bake` calls
:func:`finish_site` before it bakes the comments: it copies the script and stylesheet where
the pages link them, and writes each article's references, the danger line beside the form
and the hidden urgent alert between their markers. Pages from an MkDocs build have no such
markers and inline the stylesheet, so running it there changes nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from comments_service.articles.article import Article
from comments_service.articles.citations import format_reference
from comments_service.articles.front_matter import load_articles
from comments_service.site.bake import TEMPLATES_DIR, write_atomically
from comments_service.site.signposts import Signposts

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Where mkdocs_plugin.STATIC_DEST puts the script, and where the overrides link both files.
ASSETS_DEST = Path("assets") / "comments"
ASSETS = ("comments.js", "comments.css")
# The marker kinds overrides/ writes without the plugin (partials/article.html, comments.html).
REFERENCES, CRISIS_LINE, CRISIS_ALERT = "references", "crisis-line", "crisis-alert"
# Only a page rendered without the plugin links the stylesheet (the plugin inlines it).
LINKED_STYLESHEET = b'assets/comments/comments.css"'


def _marker_re(kind: str) -> re.Pattern[bytes]:
    """Bytes, as bake.MARKER_RE: nothing outside the markers may change."""
    name = re.escape(kind).encode("ascii")
    return re.compile(
        rb"(<!-- " + name + rb':begin article="(?P<id>[a-z0-9-]+)" -->)(?P<inner>.*?)'
        rb"(<!-- " + name + rb':end article="(?P=id)" -->)',
        re.DOTALL,
    )


MARKERS = {kind: (_marker_re(kind), f"<!-- {kind}:begin ".encode("ascii"))
           for kind in (REFERENCES, CRISIS_LINE, CRISIS_ALERT)}


@dataclass
class FinishReport:
    """What finishing a site did."""

    assets_changed: list[Path] = field(default_factory=list)
    pages_changed: list[Path] = field(default_factory=list)
    # Ids whose references markers are on a page but that docs/ does not have (valid).
    unknown_articles: set[str] = field(default_factory=set)

    @property
    def files_changed(self) -> list[Path]:
        """Every file written: assets, then pages."""
        return [*self.assets_changed, *self.pages_changed]

    def summary(self) -> str:
        """One line for the command's output."""
        return (f"finished the site: {len(self.assets_changed)} asset(s) copied, references "
                f"and crisis signposts written into {len(self.pages_changed)} page(s)")


def copy_assets(site_dir: Path) -> list[Path]:
    """Put the packaged comments.js and comments.css in the site; only those that differ."""
    changed = []
    dest_dir = site_dir / ASSETS_DEST
    for name in ASSETS:
        source = STATIC_DIR / name
        dest = dest_dir / name
        if dest.is_file() and dest.read_bytes() == source.read_bytes():
            continue
        dest_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        changed.append(dest)
    return changed


class PageFinisher:
    """Fills the references and signpost markers of built pages, each rendered once."""

    def __init__(self, articles: dict[str, Article] | Callable[[], dict[str, Article]],
                 signposts: Signposts | None) -> None:
        env = Environment(loader=FileSystemLoader(TEMPLATES_DIR),
                          autoescape=select_autoescape(default=True))
        env.filters["citation"] = format_reference
        self.env = env
        # A callable is called once, at the first references marker: pages from an MkDocs
        # build have none, and reading every article's front matter for nothing was most
        # of a `comments-service bake` of a large library.
        self._articles = articles
        self.signposts = signposts
        self.unknown: set[str] = set()
        self._rendered: dict[tuple[str, str], bytes] = {}

    @property
    def articles(self) -> dict[str, Article]:
        """The articles by id, read from docs/ the first time they are needed."""
        if callable(self._articles):
            self._articles = self._articles()
        return self._articles

    def fill(self, html: bytes) -> bytes:
        """The page with every marked section filled (unknown ids left as they are)."""
        for kind, (pattern, needle) in MARKERS.items():
            if needle in html:
                html = pattern.sub(lambda match, kind=kind: self._section(kind, match), html)
        return html

    def _section(self, kind: str, match: re.Match[bytes]) -> bytes:
        article_id = match["id"].decode("ascii")
        key = (kind, article_id if kind == REFERENCES else "")
        if key not in self._rendered:
            text = self._render(kind, article_id)
            if text is None:
                return match[0]
            self._rendered[key] = text.encode("utf-8")
        return match[1] + b"\n" + self._rendered[key] + b"\n" + match[4]

    def _render(self, kind: str, article_id: str) -> str | None:
        if kind == REFERENCES:
            article = self.articles.get(article_id)
            if article is None:
                self.unknown.add(article_id)
                return None
            return self.env.get_template("_references.html").render(
                references=article.references)
        if self.signposts is None:
            return None
        if kind == CRISIS_LINE:
            return self.env.get_template("_form_signposts.html").render(crisis=self.signposts)
        return str(self.signposts.urgent_alert)


def finish_site(site_dir: Path, docs_dir: Path,
                signposts: Signposts | None = None) -> FinishReport:
    """Copy the comments assets into site_dir; write references from docs_dir's articles
    and, with ``signposts``, the crisis danger line and urgent alert.

    Idempotent: a second run writes nothing. Articles whose front matter is invalid are
    left unfilled and reported as unknown (`comments-service check-docs` says why).
    """
    report = FinishReport()
    writer = PageFinisher(
        lambda: load_articles(docs_dir).by_id() if docs_dir.is_dir() else {}, signposts)
    links_assets = False
    for path in sorted(site_dir.rglob("*.html")):
        original = path.read_bytes()
        links_assets = links_assets or LINKED_STYLESHEET in original
        filled = writer.fill(original)
        if filled != original:
            write_atomically(path, filled)
            report.pages_changed.append(path)
    if links_assets:
        report.assets_changed = copy_assets(site_dir)
    report.unknown_articles = writer.unknown
    return report
