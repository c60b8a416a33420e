"""Editor commands: check-docs (front matter validation) and new-article."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import secrets
import sys
import unicodedata
from pathlib import Path

from comments_service.articles.article import ARTICLE_ID_RE
from comments_service.articles.front_matter import load_articles
from comments_service.config import Settings

TEMPLATE = Path(__file__).resolve().parent.parent / "articles" / "article_template.md"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = subparsers.add_parser(
        "check-docs", help="validate every article's front matter and list all problems"
    )
    check.add_argument("--docs-dir", type=Path, help="docs folder (default: COMMENTS_DOCS_DIR)")
    check.set_defaults(handler=check_docs)

    new = subparsers.add_parser("new-article", help="start a new article from the template")
    new.add_argument("title", help="the article's title")
    new.add_argument("--docs-dir", type=Path, help="docs folder (default: COMMENTS_DOCS_DIR)")
    new.add_argument("--slug", help="file name without .md (default: from the title)")
    new.set_defaults(handler=new_article)


def check_docs(args: argparse.Namespace, settings: Settings) -> int:
    docs_dir: Path = args.docs_dir or settings.docs_dir
    if not docs_dir.is_dir():
        print(f"check-docs: {docs_dir} is not a folder", file=sys.stderr)
        return 2
    result = load_articles(docs_dir)
    for problem in result.problems:
        print(f"{docs_dir / problem.file}: {problem.field}: {problem.message}", file=sys.stderr)
    for warning in result.warnings:
        print(f"{docs_dir / warning.file}: {warning.field}: warning: {warning.message}",
              file=sys.stderr)
    if result.problems:
        print(f"{len(result.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{len(result.articles)} article(s) OK in {docs_dir}")
    return 0


def slugify(title: str) -> str:
    """Lowercase letters, digits and single hyphens, as article ids must be."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:60].strip("-") or "article"


def new_article(args: argparse.Namespace, settings: Settings) -> int:
    docs_dir: Path = args.docs_dir or settings.docs_dir
    title = args.title.strip()
    if not title:
        print("new-article: title: must not be blank", file=sys.stderr)
        return 2
    slug = args.slug or slugify(title)
    if not ARTICLE_ID_RE.match(slug):
        print("new-article: --slug: use lowercase letters, digits and hyphens", file=sys.stderr)
        return 2
    path = docs_dir / f"{slug}.md"
    if path.exists():
        print(f"new-article: {path} already exists; choose another --slug", file=sys.stderr)
        return 1
    existing = {a.id for a in load_articles(docs_dir).articles} if docs_dir.is_dir() else set()
    # The id outlives the file name (renaming keeps comments), so make it unique, not pretty.
    article_id = slug
    while article_id in existing:
        article_id = f"{slug}-{secrets.token_hex(3)}"
    text = TEMPLATE.read_text(encoding="utf-8").format(
        # A JSON string is a valid YAML double-quoted scalar: quotes and backslashes survive.
        title=json.dumps(title, ensure_ascii=False), id=article_id,
        updated=dt.date.today().isoformat()
    )
    docs_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"created {path} (id: {article_id}); add it to the nav if mkdocs.yml lists one")
    return 0
