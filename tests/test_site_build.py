"""The built article site: the real docs/ through `mkdocs build --strict`, read with html5lib."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup
from site_support import REPO, BuildResult, copy_project, mkdocs_build, page_path, real_site, soup

from comments_service.articles.front_matter import load_articles

ARTICLE = "therapeutic-impasse/"
DOI_URL = "https://doi.org/10.1037/0022-006X.64.3.481"
# <link> relations that make the browser fetch something.
LOADED_LINK_RELS = {"stylesheet", "preconnect", "preload", "icon", "modulepreload",
                    "dns-prefetch"}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result: BuildResult = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    return result.site_dir


@pytest.fixture(scope="session")
def article(site: Path) -> BeautifulSoup:
    return soup(page_path(site, ARTICLE))


@pytest.fixture(scope="session")
def home(site: Path) -> BeautifulSoup:
    return soup(site / "index.html")


def article_body(page: BeautifulSoup):  # type: ignore[no-untyped-def]
    return page.select_one("article.md-content__inner")


def json_ld(page: BeautifulSoup) -> dict:  # type: ignore[type-arg]
    scripts = page.find_all("script", type="application/ld+json")
    assert len(scripts) == 1
    return json.loads(scripts[0].string)


def test_strict_build_is_clean(tmp_path_factory: pytest.TempPathFactory) -> None:
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    # The bake step may note that this fresh build has no comments database to bake from;
    # that is about comments, not the site. Nothing else may warn.
    noise = [line for line in result.output.splitlines()
             if line.startswith(("WARNING", "ERROR")) and " comments: " not in line]
    assert noise == []


def test_article_page_has_one_h1_with_the_title(article: BeautifulSoup) -> None:
    headings = article_body(article).find_all("h1")
    assert [h.get_text(strip=True) for h in headings] == ["Therapeutic Impasse"]
    assert article.title.get_text(strip=True).startswith("Therapeutic Impasse")


def test_article_page_shows_last_updated_as_time_element(article: BeautifulSoup) -> None:
    updated = article_body(article).select_one(".oml-updated")
    assert updated is not None
    assert updated.get_text(" ", strip=True) == "Last updated 28 August 2015"
    assert updated.time["datetime"] == "2015-08-28"


def test_article_page_has_the_sections_in_order(article: BeautifulSoup) -> None:
    headings = [h.get_text(strip=True).rstrip("¶") for h in article_body(article).find_all("h2")]
    wanted = ["Examples of therapeutic impasse", "The therapist's role", "The client's role",
              "References"]
    assert [h for h in headings if h in wanted] == wanted


def test_examples_section_is_a_bulleted_list(article: BeautifulSoup) -> None:
    heading = article_body(article).find("h2", id="examples-of-therapeutic-impasse")
    items = heading.find_next("ul").find_all("li")
    assert len(items) == 5
    assert "resistance itself" in items[0].get_text()


def test_references_are_numbered_with_a_doi_link(article: BeautifulSoup) -> None:
    section = article_body(article).select_one("section.oml-references")
    entries = section.find("ol").find_all("li", recursive=False)
    assert len(entries) == 3
    first = entries[0]
    assert first.get_text(" ", strip=True).startswith("Diamond, G., & Liddle, H. A. (1996).")
    assert "Journal of Consulting and Clinical Psychology" in first.cite.get_text()
    assert "64 (3), 481\u2013488" in first.get_text(" ", strip=True)
    link = first.find("a")
    assert link["href"] == DOI_URL
    assert link.get_text(strip=True) == DOI_URL


def test_undated_references_keep_nd_and_the_retrieved_note(article: BeautifulSoup) -> None:
    entries = article_body(article).select("section.oml-references ol > li")
    pope, news = entries[1].get_text(" ", strip=True), entries[2].get_text(" ", strip=True)
    assert pope.startswith("Pope, K. S., Sonne, J. L., & Holroyd, J. C. (n.d.). Confronting an")
    assert "In Ethics and Malpractice ." in pope
    assert news.startswith("Vichick-Johnson, S. (n.d.). The therapeutic impasse.")
    for text in (pope, news):
        assert text.endswith("Retrieved online; no address is known.")
    assert entries[1].find("a") is None and entries[2].find("a") is None


def test_article_page_has_canonical_link_and_meta_description(article: BeautifulSoup) -> None:
    canonical = article.find_all("link", rel="canonical")
    assert [c["href"] for c in canonical] == [f"http://127.0.0.1:8000/{ARTICLE}"]
    description = article.find("meta", attrs={"name": "description"})["content"]
    by_id = load_articles(REPO / "docs").by_id()
    assert description == by_id["therapeutic-impasse"].description


def test_json_ld_describes_the_article(article: BeautifulSoup) -> None:
    data = json_ld(article)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["headline"] == "Therapeutic Impasse"
    assert data["description"].startswith("What a therapeutic impasse is")
    assert data["dateModified"] == "2015-08-28"
    assert data["url"] == f"http://127.0.0.1:8000/{ARTICLE}"
    names = [c["name"] for c in data["citation"]]
    assert names == [
        "Resolving a therapeutic impasse between parents and adolescents in multidimensional "
        "family therapy",
        "Confronting an impasse",
        "The therapeutic impasse",
    ]
    assert data["citation"][0]["url"] == DOI_URL
    assert "datePublished" not in data["citation"][1]


def test_front_matter_text_cannot_inject_markup(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    path = project / "docs" / "therapeutic-impasse.md"
    text = path.read_text(encoding="utf-8")
    hostile = "A </script><script>alert(1)</script> & 'quoted' text"
    text = re.sub(r"^description: .*$", f'description: "{hostile}"', text, count=1, flags=re.M)
    text = re.sub(r"^title: .*$", 'title: "Impasse <b>bold</b> & co"', text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode == 0, result.output
    page = soup(page_path(result.site_dir, ARTICLE))
    assert not [s for s in page.find_all("script") if "alert(1)" in (s.string or "")
                and s.get("type") != "application/ld+json"]
    data = json_ld(page)
    assert data["description"] == hostile
    assert data["headline"] == "Impasse <b>bold</b> & co"
    assert article_body(page).find("h1").get_text() == "Impasse <b>bold</b> & co"
    assert article_body(page).find("b") is None
    listed = soup(result.site_dir / "index.html").select_one(
        '[data-article-id="therapeutic-impasse"]')
    assert listed.find("a").get_text() == "Impasse <b>bold</b> & co"
    assert hostile in listed.get_text()
    assert listed.find("script") is None


def test_home_page_lists_every_article_newest_first(home: BeautifulSoup) -> None:
    articles = sorted(load_articles(REPO / "docs").articles,
                      key=lambda a: (a.updated, a.title), reverse=True)
    assert len(articles) >= 3
    items = home.select("[data-article-id]")
    assert [i["data-article-id"] for i in items] == [a.id for a in articles]
    for item, expected in zip(items, articles, strict=True):
        link = item.find("a")
        assert link.get_text(strip=True) == expected.title
        assert urljoin("http://127.0.0.1:8000/", link["href"]) == \
            f"http://127.0.0.1:8000/{expected.url_path}"
        assert expected.description in item.get_text(" ", strip=True)
        assert item.find("time")["datetime"] == expected.updated.isoformat()
        assert "Last updated" in item.get_text(" ", strip=True)


def test_home_page_links_lead_to_built_article_pages(site: Path, home: BeautifulSoup) -> None:
    for item in home.select("[data-article-id]"):
        target = page_path(site, item.find("a")["href"].removeprefix("./"))
        built = soup(target)
        assert built.find("h1").get_text(strip=True) == item.find("a").get_text(strip=True)


def test_sample_articles_say_so_on_the_page(site: Path) -> None:
    samples = [a for a in load_articles(REPO / "docs").articles if a.sample]
    assert len(samples) >= 2
    for sample in samples:
        notice = soup(page_path(site, sample.url_path)).select_one(".admonition")
        assert notice is not None
        assert "Sample content" in notice.get_text()


def test_therapeutic_impasse_is_not_marked_sample(article: BeautifulSoup) -> None:
    assert "Sample content" not in article_body(article).get_text()


def sidebar_links(page: BeautifulSoup) -> list[tuple[str, str]]:
    """The primary sidebar's page links (text, href), without the table of contents."""
    nav = page.select_one("nav.md-nav--primary")
    return [(a.get_text(" ", strip=True), a["href"]) for a in nav.select("a.md-nav__link")
            if not a.find_parent("nav", class_="md-nav--secondary")]


def test_sidebar_lists_the_site_pages_not_every_article(home: BeautifulSoup) -> None:
    # A growing library is browsed from the home and tag pages and search; a sidebar link
    # per article would make every page's HTML grow with the library.
    assert sidebar_links(home) == [("Home", "."), ("Tags", "tags/"),
                                   ("Terms of use", "terms/")]


def test_article_sidebar_shows_the_article_being_read_with_its_contents(
    article: BeautifulSoup,
) -> None:
    assert sidebar_links(article) == [("Home", ".."), ("Therapeutic Impasse", "./"),
                                      ("Tags", "../tags/"), ("Terms of use", "../terms/")]
    active = article.select_one("nav.md-nav--primary .md-nav__item--active")
    assert active.select_one("a.md-nav__link--active").get_text(strip=True) == \
        "Therapeutic Impasse"
    # On narrow screens Material shows the contents under the active entry.
    contents = [a["href"] for a in active.select("nav.md-nav--secondary a")]
    assert "#examples-of-therapeutic-impasse" in contents


def test_articles_in_nav_option_lists_every_article(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "articles_in_nav: false" in text
    config.write_text(text.replace("articles_in_nav: false", "articles_in_nav: true"),
                      encoding="utf-8")
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode == 0, result.output
    listed = {text for text, _ in sidebar_links(soup(result.site_dir / "index.html"))}
    assert {a.title for a in load_articles(REPO / "docs").articles} <= listed


def test_search_dialog_has_an_accessible_name(article: BeautifulSoup) -> None:
    dialog = article.find(attrs={"role": "dialog"})
    assert dialog.get("aria-label") == "Search"


def test_pages_make_no_third_party_requests(site: Path) -> None:
    for path in site.rglob("*.html"):
        page = soup(path)
        for tag in page.find_all(["script", "link", "img", "iframe", "source", "video", "audio"]):
            if tag.name == "link" and not LOADED_LINK_RELS & set(tag.get("rel", [])):
                continue
            address = tag.get("src") or tag.get("href")
            if address:
                host = urlparse(address).netloc
                assert host in ("", "127.0.0.1:8000"), f"{path}: {tag}"


def test_sitemap_lists_every_article(site: Path) -> None:
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    for article in load_articles(REPO / "docs").articles:
        assert f"<loc>http://127.0.0.1:8000/{article.url_path}</loc>" in sitemap


def test_terms_page_is_built_for_the_comment_form(site: Path) -> None:
    terms = soup(site / "terms" / "index.html")
    assert terms.find("h1").get_text(strip=True).startswith("Terms of use")
    footer_link = soup(page_path(site, ARTICLE)).select_one(".md-copyright a")
    assert footer_link["href"] == "../terms/"


def test_site_url_comes_from_comments_site_url(tmp_path: Path) -> None:
    public = "https://articles.example.org/"
    result = mkdocs_build(REPO, tmp_path / "site", tmp_path / "var",
                          {"COMMENTS_SITE_URL": public})
    assert result.returncode == 0, result.output
    page = soup(page_path(result.site_dir, ARTICLE))
    assert page.find("link", rel="canonical")["href"] == public + ARTICLE
    assert json_ld(page)["url"] == public + ARTICLE
    assert f"<loc>{public}{ARTICLE}</loc>" in (result.site_dir / "sitemap.xml").read_text()
