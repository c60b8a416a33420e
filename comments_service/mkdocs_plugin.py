"""MkDocs plugin: strict front matter validation at build, article context for templates.

Registered as the ``comments`` plugin. It fails the build (strict or not) when any
article's front matter is wrong, naming every file and field at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from .articles import Article, load_articles
from .citations import article_jsonld, format_reference

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Where the page's comments script and stylesheet land in the built site.
STATIC_DEST = "assets/comments"

log = logging.getLogger("mkdocs.plugins.comments")


class CommentsPluginConfig(base.Config):
    service_url = c.Type(str, default="")
    """Where the page's script reaches the service; empty means the site's own origin."""
    crisis_notice = c.Type(
        str,
        default=(
            "Comments are not monitored for emergencies. If you are in crisis or thinking "
            "about harming yourself, call your local emergency number or a crisis line now."
        ),
    )
    """Shown near the comment form."""
    terms_url = c.Type(str, default="terms/")
    """The site's terms of use, linked from the comment form."""
    nosnippet = c.Type(bool, default=True)
    """Mark baked comments data-nosnippet so search engines do not quote them."""
    bake = c.Type(bool, default=True)
    """Bake approved comments into pages after the build."""


class CommentsPlugin(BasePlugin[CommentsPluginConfig]):
    """Validates article front matter and gives templates the article being rendered."""

    def __init__(self) -> None:
        self.articles: dict[str, Article] = {}
        self.by_source: dict[str, Article] = {}

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        docs_dir = Path(config.docs_dir)
        result = load_articles(docs_dir, config.use_directory_urls)
        if result.problems:
            lines = "\n".join(f"  {p}" for p in result.problems)
            raise PluginError(
                f"Front matter is wrong in {len({p.file for p in result.problems})} file(s) "
                f"under {docs_dir}:\n{lines}"
            )
        self.articles = result.by_id()
        self.by_source = {a.source_path: a for a in result.articles}
        return config

    def on_env(self, env: Environment, /, *, config: MkDocsConfig, files: Files) -> Environment:
        env.filters["citation"] = format_reference
        env.filters["article_jsonld"] = article_jsonld
        return env

    def on_page_context(
        self, context: dict[str, Any], /, *, page: Page, config: MkDocsConfig, nav: Any
    ) -> dict[str, Any]:
        context["article"] = self.by_source.get(page.file.src_uri)
        context["articles"] = sorted(
            self.articles.values(), key=lambda a: (a.updated, a.title), reverse=True
        )
        context["comments_config"] = self.config
        return context

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        # The script and stylesheet ship inside the package, so any site using the plugin
        # gets the versions that match the service.
        for name in ("comments.js", "comments.css"):
            files.append(
                File.generated(config, f"{STATIC_DEST}/{name}", abs_src_path=str(STATIC_DIR / name))
            )
        return files

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if not self.config.bake:
            return
        # Imported here so validating docs never needs the database layer.
        from .bake import bake_after_build

        bake_after_build(Path(config.site_dir), nosnippet=self.config.nosnippet)
