"""MkDocs plugin: strict front matter validation at build, article context for templates.

Registered as the ``comments`` plugin. It fails the build (strict or not) when any
article's front matter is wrong, naming every file and field at once. It keeps articles
out of the sidebar (a library is browsed from the home and tag pages and search), and
bakes approved comments into each article page as MkDocs renders it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page

from comments_service import i18n
from comments_service.articles.article import Article
from comments_service.articles.citations import article_jsonld, format_reference
from comments_service.articles.front_matter import load_articles
from comments_service.config import Settings
from comments_service.site import script_messages
from comments_service.site.signposts import Signposts, signposts_for

if TYPE_CHECKING:
    from comments_service.site.build_bake import BuildBaker

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Where the page's comments script and stylesheet land in the built site.
STATIC_DEST = "assets/comments"

log = logging.getLogger("mkdocs.plugins.comments")
# A catalogue message: the packaged notice reads in theme.language; an editor's own does not.
CRISIS_NOTICE = i18n.N_(
    "Comments are not monitored for emergencies. If you are in crisis or thinking about "
    "harming yourself, call your local emergency number or a crisis line now."
)


class CommentsPluginConfig(base.Config):
    service_url = c.Type(str, default="")
    """Where the page's script reaches the service; empty means the site's own origin."""
    crisis_notice = c.Type(str, default=CRISIS_NOTICE)
    """Shown near the comment form."""
    terms_url = c.Type(str, default="terms/")
    """The site's terms of use, linked from the comment form."""
    nosnippet = c.Type(bool, default=True)
    """Mark baked comments data-nosnippet so search engines do not quote them."""
    bake = c.Type(bool, default=True)
    """Bake approved comments into the pages as they are built."""
    static_threads = c.Type(bool, default=True)
    """Pages read each thread and the counts from the static files the bake writes
    (comments-data/), asking the service only where none exists. Off: always the service."""
    thread_order = c.Choice(("oldest", "newest"), default="oldest")
    """Top-level comments oldest or newest first (replies stay oldest first under each);
    the baked first page, the pages after it and the live script all follow it."""
    poll_seconds = c.Type(int, default=30)
    """How often an open page asks for newly approved comments (less often while nothing
    changes, never while the tab is hidden)."""
    articles_in_nav = c.Type(bool, default=False)
    """List every article in the sidebar. Off: the sidebar holds the other pages, plus the
    article being read (with its table of contents); an explicit ``nav`` is always kept."""


class CommentsPlugin(BasePlugin[CommentsPluginConfig]):
    """Validates article front matter and gives templates the article being rendered."""

    def __init__(self) -> None:
        self.articles: dict[str, Article] = {}
        self.by_source: dict[str, Article] = {}
        self.newest_first: list[Article] = []
        self.in_nav: set[str] = set()
        self.baker: BuildBaker | None = None
        self.signposts: Signposts | None = None
        self.mail = False
        # Material's theme.language: the baked thread, the form and the script's messages.
        self.language = i18n.DEFAULT_LANGUAGE
        self.script_i18n = ""
        # Inlined into article pages: a linked stylesheet is one more render-blocking request
        # on a phone (Lighthouse mobile on a 50-comment article: 93 linked, 99 inlined).
        self.stylesheet = (STATIC_DIR / "comments.css").read_text(encoding="utf-8")

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        docs_dir = Path(config.docs_dir)
        result = load_articles(docs_dir, config.use_directory_urls)
        if result.problems:
            lines = "\n".join(f"  {p}" for p in result.problems)
            raise PluginError(
                f"Front matter is wrong in {len({p.file for p in result.problems})} file(s) "
                f"under {docs_dir}:\n{lines}"
            )
        self.language = i18n.normalise(config.theme.get("language") or "")
        self.script_i18n = script_messages.catalogue_json(self.language)
        self.config["crisis_notice"] = i18n.Translator(self.language).gettext(
            self.config.crisis_notice)
        self.signposts = _signposts(self.language)
        self.mail = _mail_enabled()
        self.articles = result.by_id()
        self.by_source = {a.source_path: a for a in result.articles}
        # Sorted once here, not once per page: home.html and the count list use it.
        self.newest_first = sorted(
            self.articles.values(), key=lambda a: (a.updated, a.title), reverse=True
        )
        return config

    def on_env(self, env: Environment, /, *, config: MkDocsConfig, files: Files) -> Environment:
        env.filters["citation"] = format_reference
        env.filters["article_jsonld"] = article_jsonld
        # The comments partial's _() and {% trans %}, in the site's language.
        i18n.install(env, self.language)
        return env

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        if not self.config.articles_in_nav:
            # Left out of the automatic nav: every page would otherwise carry a link to
            # every article, which makes each page's HTML and the build grow with the
            # square of the library. MkDocs still builds them, and warns about none.
            for file in files.documentation_pages():
                if file.src_uri in self.by_source and file.inclusion.is_in_nav():
                    file.inclusion = InclusionLevel.NOT_IN_NAV
        # The script ships inside the package, so any site using the plugin gets the version
        # that matches the service. (The stylesheet is inlined into each article page.)
        files.append(File.generated(config, f"{STATIC_DEST}/comments.js",
                                    abs_src_path=str(STATIC_DIR / "comments.js")))
        return files

    def on_nav(self, nav: Navigation, /, *, config: MkDocsConfig, files: Files) -> Navigation:
        # A set, so asking "is this page in the nav?" costs nothing per page.
        self.in_nav = {page.file.src_uri for page in nav.pages}
        return nav

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        self.baker = None
        if self.config.bake:
            # Imported here so validating docs never needs the database layer.
            from comments_service.site.build_bake import BuildBaker

            self.baker = BuildBaker.start(nosnippet=self.config.nosnippet,
                                          language=self.language)

    def on_page_context(
        self, context: dict[str, Any], /, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> dict[str, Any]:
        article = self.by_source.get(page.file.src_uri)
        context["article"] = article
        context["articles"] = self.newest_first
        context["comments_config"] = self.config
        context["comments_css"] = self.stylesheet
        context["crisis"] = self.signposts
        context["comments_mail"] = self.mail
        context["comments_i18n"] = self.script_i18n
        if article is not None and page.file.src_uri not in self.in_nav:
            context["nav"] = _nav_with(nav, page)
        return context

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str:
        if self.baker is None or page.file.src_uri not in self.by_source:
            return output
        return self.baker.fill(output)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.baker is not None:
            self.baker.finish(Path(config.site_dir) if self.config.static_threads else None)
            self.baker = None

    def on_build_error(self, *, error: Exception) -> None:
        self.baker = None


def _signposts(language: str) -> Signposts:
    """The service's crisis resources and staffed hours, read from the same COMMENTS_*.

    Wrong resources or hours fail the build, naming the field. Other settings problems only
    warn (the service checks them), and the page shows the packaged sample resources.
    """
    try:
        settings = Settings()
    except ValueError as exc:
        # Not the mkdocs logger: strict mode would abort, and the bake warns about it too.
        logging.getLogger("comments_service.build").warning(
            "comments: settings are invalid (%s); the sample crisis resources are shown", exc)
        settings = Settings.model_construct()
    try:
        return signposts_for(settings, language)
    except ValueError as exc:
        raise PluginError(f"comments: {exc}") from exc


def _mail_enabled() -> bool:
    """Whether the service can send mail (COMMENTS_SMTP_HOST set), so the form offers it."""
    try:
        return bool(Settings().smtp_host)
    except ValueError:
        return False


def _nav_with(nav: Navigation, page: Page) -> Navigation:
    """The site's nav with the article being read after the home page.

    The reader sees where they are, and on narrow screens Material shows the article's
    table of contents under its nav entry.
    """
    items = list(nav.items)
    at = 1 if items and items[0] is nav.homepage else 0
    items.insert(at, page)
    return Navigation(items, nav.pages)
