"""Which of our articles an imported thread belongs to.

In order: the operator's mapping file; the thread's URL path against each article's
path (scheme, host, query string, fragment and a trailing slash ignored); its slug
against article ids and file names. A thread that matches nothing, or whose slug fits
several articles, stays unmatched: its comments are skipped and reported, never put on
a guessed article.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from comments_service.articles.article import Article

from .mapping import ArticleEntry
from .records import ImportedThread


@dataclass(frozen=True)
class Match:
    """Where a thread goes (article_id None: nowhere), and how that was decided."""

    article_id: str | None
    how: str  # "mapping", "path", "slug", or why there is no match


def normalise_path(url: str) -> str:
    """A URL's path alone, decoded, with no trailing slash or index.html: "/a/b"."""
    path = unquote(urlsplit(url.strip()).path)
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    path = "/" + path.strip("/")
    return path


def url_key(url: str) -> str:
    """A URL compared ignoring scheme, fragment, host case and a trailing slash."""
    parts = urlsplit(url.strip())
    key = parts.netloc.lower() + normalise_path(url).rstrip("/")
    return f"{key}?{parts.query}" if parts.query else key


class ArticleMatcher:
    """Matches threads against the docs' articles and an optional mapping file."""

    def __init__(self, articles: Iterable[Article], site_url: str,
                 mapping: Iterable[ArticleEntry] = ()) -> None:
        prefix = normalise_path(site_url).rstrip("/")
        self._by_path: dict[str, str] = {}
        self._by_bare_path: dict[str, str] = {}
        self._by_slug: dict[str, set[str]] = defaultdict(set)
        for article in articles:
            bare = normalise_path("/" + article.url_path)
            # The full path under the site's own prefix wins over the bare one, which is
            # there for an old site that lived at the root of its host.
            self._by_path[normalise_path(prefix + bare)] = article.id
            self._by_bare_path.setdefault(bare, article.id)
            self._by_slug[article.id].add(article.id)
            stem = bare.rsplit("/", 1)[-1]
            if stem:
                self._by_slug[stem].add(article.id)
        self._mapped_urls: dict[str, str] = {}
        self._mapped_paths: dict[str, str] = {}
        self._mapped_keys: dict[str, str] = {}
        for entry in mapping:
            if "://" in entry.source:
                self._mapped_urls[url_key(entry.source)] = entry.article_id
            elif entry.source.startswith("/"):
                self._mapped_paths[normalise_path(entry.source)] = entry.article_id
            else:
                self._mapped_keys[entry.source] = entry.article_id

    def match(self, thread: ImportedThread) -> Match:
        """The article for this thread, or Match(None, reason)."""
        mapped = self._mapped(thread)
        if mapped is not None:
            return Match(mapped, "mapping")
        if thread.url:
            path = normalise_path(thread.url)
            found = self._by_path.get(path) or self._by_bare_path.get(path)
            if found is not None and path != "/":
                return Match(found, "path")
        ambiguous: set[str] = set()
        for slug in self._slugs(thread):
            candidates = self._by_slug.get(slug, set())
            if len(candidates) == 1:
                return Match(next(iter(candidates)), "slug")
            ambiguous |= candidates
        if ambiguous:
            return Match(None, f"its slug fits several articles ({', '.join(sorted(ambiguous))})")
        return Match(None, "no article has its address or slug")

    def _mapped(self, thread: ImportedThread) -> str | None:
        for url in (thread.url, thread.guid):
            if url and url_key(url) in self._mapped_urls:
                return self._mapped_urls[url_key(url)]
        if thread.url and normalise_path(thread.url) in self._mapped_paths:
            return self._mapped_paths[normalise_path(thread.url)]
        for key in (*thread.keys(), thread.source_id):
            if key in self._mapped_keys:
                return self._mapped_keys[key]
        return None

    @staticmethod
    def _slugs(thread: ImportedThread) -> list[str]:
        slugs = [thread.slug] if thread.slug else []
        if thread.url:
            last = normalise_path(thread.url).rsplit("/", 1)[-1]
            if last and last not in slugs:
                slugs.append(last)
        # A Disqus identifier is often the slug the old site used for the page.
        if thread.identifier and "/" not in thread.identifier and " " not in thread.identifier:
            slugs.append(thread.identifier)
        return slugs
