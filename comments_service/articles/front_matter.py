"""Articles: reading docs/ front matter strictly and validating it against our schema.

MkDocs' own front matter reader swallows YAML errors, so the plugin and the
``check-docs`` command both call :func:`load_articles`, which reports every problem in
every file in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from comments_service.articles.article import ARTICLE_ID_RE, Article, Reference, url_path_for
from comments_service.articles.duplicate_ids import Claim, clash_message, order_claims
from comments_service.articles.editor_checks import editor_warnings
from comments_service.articles.problems import Problem

# Crossref's recommended pattern for modern DOIs, anchored.
DOI_RE = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
YEAR_RE = re.compile(r"^(\d{4}[a-z]?|n\.d\.)$")
COMMENT_STATES = ("open", "closed", "hidden")
REFERENCE_TYPES = ("article", "chapter", "book", "web")
MAX_DESCRIPTION = 160
MAX_ID = 100

REFERENCE_FIELDS = {
    "authors", "year", "title", "container", "volume", "issue", "pages", "doi", "url",
    "retrieved", "publisher", "type",
}
ARTICLE_FIELDS = {
    "title", "description", "id", "updated", "tags", "comments", "references",
    # Fields MkDocs and Material understand on any page; allowed, not required.
    "template", "hide", "search", "icon", "status", "subtitle", "sample",
}


ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# libyaml's parser when PyYAML has it: every build reads every article's front matter, and
# the pure-Python parser made that most of the plugin's own build time in a large library.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDatesLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that leaves dates as text.

    PyYAML turns 2015-02-30 into a crash (ValueError) rather than a YAML error; keeping
    dates as text lets the validator report an impossible date on its field.
    """


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _TextDatesHandler(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        kwargs.setdefault("Loader", _TextDatesLoader)
        return super().load(fm, **kwargs)


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Not errors (the build still succeeds); check-docs prints them so editors see them.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


class FrontMatterError(Exception):
    """Raised with every problem found, one per line, file and field first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def is_article(metadata: dict[str, Any]) -> bool:
    """A page is an article when its front matter carries an ``id``.

    Other pages (the home page, tag index) carry no ``id`` and are not validated as articles,
    but a page that has some article fields and no ``id`` is reported, since that is almost
    always a forgotten ``id``.
    """
    return "id" in metadata


def load_articles(docs_dir: Path, use_directory_urls: bool = True,
                  keep_references: bool = True) -> LoadResult:
    """Read every Markdown file under docs_dir and validate the articles among them.

    When two files claim one id, the older keeps it and the newer is reported
    (duplicate_ids), so an editor is never told to change the id that comments follow.
    With ``keep_references`` false, references are still validated but not kept (the
    comments service never shows them; in its catalog they were 2.1 of 2.9 MB per 1,000
    articles, in every worker).
    """
    result = LoadResult()
    claims: dict[str, list[Claim]] = {}
    valid: dict[str, Article] = {}
    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir).as_posix()
        problems: list[Problem] = []
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            result.problems.append(Problem(rel, "(file)", f"is not valid UTF-8: {exc}"))
            continue
        try:
            post = frontmatter.loads(text, handler=_TextDatesHandler())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            result.problems.append(
                Problem(rel, "(front matter)", f"is not valid YAML{where}: {problem}")
            )
            continue
        metadata = dict(post.metadata)
        if not metadata and not text.lstrip().startswith("---"):
            result.problems.append(Problem(
                rel, "(front matter)", "is missing: start the file with a '---' block "
                "holding at least a title (an article also needs description, id and updated)"))
            continue
        if not is_article(metadata):
            if {"updated", "references", "description"} & metadata.keys() and "title" in metadata:
                result.problems.append(
                    Problem(rel, "id", "is required for an article (a page with 'updated' or "
                            "'references' front matter); add a stable id such as "
                            f"'{_suggest_id(path.stem)}'")
                )
            continue
        article = _validate(rel, metadata, problems, use_directory_urls)
        if article is not None and not problems:
            valid[rel] = article if keep_references else replace(article, references=())
            result.warnings.extend(editor_warnings(rel, metadata))
        if isinstance(metadata.get("id"), str):
            claims.setdefault(metadata["id"], []).append(
                Claim(rel, path, valid=article is not None and not problems))
        result.problems.extend(problems)
    taken = set(claims)
    for article_id, claimed in claims.items():
        ordered = order_claims(claimed) if len(claimed) > 1 else claimed
        for claim in ordered[1:]:
            if claim.valid:
                del valid[claim.rel]
                result.problems.append(
                    Problem(claim.rel, "id", clash_message(article_id, ordered[0], taken)))
    result.articles.extend(valid.values())
    return result


def require_articles(docs_dir: Path, use_directory_urls: bool = True) -> list[Article]:
    """Like load_articles, but raise FrontMatterError listing every problem."""
    result = load_articles(docs_dir, use_directory_urls)
    if result.problems:
        raise FrontMatterError(result.problems)
    return result.articles


def _suggest_id(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "my-article"


def _text(value: Any) -> str | None:
    """Scalars YAML may type as numbers (volume 64, pages 481) are fine as text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _validate(
    rel: str, meta: dict[str, Any], problems: list[Problem], use_directory_urls: bool
) -> Article | None:
    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(rel, field_name, message))

    for key in sorted(set(meta) - ARTICLE_FIELDS, key=str):
        bad(str(key), "is not a known front matter field (check the spelling; see the "
            "editor's guide in README.md)")

    title = meta.get("title")
    if title is None:
        bad("title", "is required")
    elif not isinstance(title, str) or not title.strip():
        bad("title", "must be non-empty text")

    description = meta.get("description")
    if description is None:
        bad("description", "is required (used as the page's meta description)")
    elif not isinstance(description, str) or not description.strip():
        bad("description", "must be non-empty text")
    elif len(description.strip()) > MAX_DESCRIPTION:
        bad("description", f"is {len(description.strip())} characters; at most "
            f"{MAX_DESCRIPTION} allowed")

    article_id = meta.get("id")
    if not isinstance(article_id, str) or not article_id:
        bad("id", "must be text of lowercase letters, digits and hyphens")
    elif len(article_id) > MAX_ID:
        bad("id", f"is longer than {MAX_ID} characters")
    elif not ARTICLE_ID_RE.match(article_id):
        bad("id", f"'{article_id}' may only hold lowercase letters, digits and single "
            "hyphens between them")

    updated = meta.get("updated")
    updated_date: dt.date | None = None
    if updated is None:
        bad("updated", "is required (a date such as 2015-08-28)")
    elif isinstance(updated, dt.datetime):
        updated_date = updated.date()
    elif isinstance(updated, dt.date):
        updated_date = updated
    elif isinstance(updated, str):
        try:
            if not ISO_DATE_RE.match(updated.strip()):
                raise ValueError(updated)
            updated_date = dt.date.fromisoformat(updated.strip())
        except ValueError:
            bad("updated", f"'{updated}' is not a date; write it as YYYY-MM-DD")
    else:
        bad("updated", f"'{updated}' is not a date; write it as YYYY-MM-DD")

    tags_value = meta.get("tags", [])
    tags: list[str] = []
    if tags_value is None:
        if "tags" in meta:
            # `tags:` with nothing after it: almost always a list the editor meant to fill.
            bad("tags", "is empty; list at least one tag, or remove the line")
        tags_value = []
    if not isinstance(tags_value, list):
        bad("tags", "must be a list of text tags")
    else:
        for i, tag in enumerate(tags_value):
            if not isinstance(tag, str) or not tag.strip():
                bad(f"tags[{i}]", "must be non-empty text")
            else:
                tags.append(tag.strip())

    comments = meta.get("comments", "open")
    if comments not in COMMENT_STATES:
        bad("comments", f"'{comments}' must be one of: {', '.join(COMMENT_STATES)}")

    sample = meta.get("sample", False)
    if not isinstance(sample, bool):
        bad("sample", "must be true or false")

    references: list[Reference] = []
    refs_value = meta.get("references", [])
    if refs_value is None:
        refs_value = []
    if not isinstance(refs_value, list):
        bad("references", "must be a list of citations")
    else:
        for i, ref in enumerate(refs_value, start=1):
            parsed = _validate_reference(f"references[{i}]", ref, bad)
            if parsed is not None:
                references.append(parsed)

    if problems:
        return None
    assert isinstance(title, str) and isinstance(description, str)
    assert isinstance(article_id, str) and updated_date is not None
    return Article(
        id=article_id,
        title=title.strip(),
        description=description.strip(),
        updated=updated_date,
        source_path=rel,
        url_path=url_path_for(rel, use_directory_urls),
        tags=tuple(tags),
        comments=str(comments),
        references=tuple(references),
        sample=bool(sample),
    )


def _validate_reference(where: str, ref: Any, bad: Any) -> Reference | None:
    if not isinstance(ref, dict):
        bad(where, "must be a mapping with at least authors, year and title")
        return None
    count = 0

    def fail(name: str, message: str) -> None:
        nonlocal count
        count += 1
        bad(f"{where}.{name}", message)

    for key in sorted(set(ref) - REFERENCE_FIELDS, key=str):
        fail(str(key), f"is not a citation field (known: {', '.join(sorted(REFERENCE_FIELDS))})")

    authors_value = ref.get("authors")
    authors: list[str] = []
    if authors_value is None:
        fail("authors", "is required (a list such as ['Diamond, G.', 'Liddle, H. A.'])")
    elif isinstance(authors_value, str) and authors_value.strip():
        authors = [authors_value.strip()]
    elif isinstance(authors_value, list) and authors_value:
        for j, author in enumerate(authors_value):
            if not isinstance(author, str) or not author.strip():
                fail(f"authors[{j}]", "must be non-empty text")
            else:
                authors.append(author.strip())
    else:
        fail("authors", "must be a non-empty list of names")

    year_value = ref.get("year")
    year = _text(year_value)
    if year_value is None:
        fail("year", "is required (a year such as 1996, or \"n.d.\" when undated)")
    elif year is None or not YEAR_RE.match(year):
        fail("year", f"'{year_value}' must be a four-digit year or \"n.d.\"")

    title = ref.get("title")
    if title is None:
        fail("title", "is required")
    elif not isinstance(title, str) or not title.strip():
        fail("title", "must be non-empty text")

    values: dict[str, str] = {}
    for name in ("container", "volume", "issue", "pages", "retrieved", "publisher"):
        if name in ref and ref[name] is not None:
            text = _text(ref[name])
            if text is None:
                fail(name, "must be text")
            else:
                values[name] = text

    kind = ref.get("type", "article")
    if kind not in REFERENCE_TYPES:
        fail("type", f"'{kind}' must be one of: {', '.join(REFERENCE_TYPES)}")
    else:
        values["type"] = kind

    doi_value = ref.get("doi")
    doi = ""
    if doi_value is not None:
        text = _text(doi_value) or ""
        text = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", text, flags=re.I)
        if not DOI_RE.match(text):
            fail("doi", f"'{doi_value}' is not a DOI (expected the form "
                 "10.1037/0022-006X.64.3.481)")
        else:
            doi = text

    url_value = ref.get("url")
    url = ""
    if url_value is not None:
        if not isinstance(url_value, str) or not URL_RE.match(url_value.strip()):
            fail("url", f"'{url_value}' is not an http(s) address")
        else:
            url = url_value.strip()

    if count:
        return None
    assert isinstance(title, str) and year is not None
    return Reference(authors=tuple(authors), year=year, title=title.strip(), doi=doi, url=url,
                     **values)
