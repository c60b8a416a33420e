"""The site built with Zensical (no MkDocs plugin), then finished by `comments-service bake`.

Each test builds a temporary copy of the project with the `zensical` command, bounded in
time. Where Zensical cannot yet do what the MkDocs plugin does, the test says so with
pytest.skip, and README's "Building with Zensical" lists the same gaps.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from site_support import REPO, build_env, copy_project, page_path, real_site, soup
from test_bake import add_comment

from comments_service.articles.front_matter import load_articles
from comments_service.cli import main as cli_main
from comments_service.config import Settings
from comments_service.site.post_build import finish_site
from comments_service.site.signposts import signposts_for
from comments_service.store.database import Database

ZENSICAL = Path(sys.executable).with_name("zensical")
ARTICLE = "therapeutic-impasse/"
DOI_URL = "https://doi.org/10.1037/0022-006X.64.3.481"
BUILD_SECONDS = 120

pytestmark = pytest.mark.skipif(
    not ZENSICAL.is_file(),
    reason="Zensical is not installed here (pip install -e '.[zensical]'); README, "
    "'Building with Zensical', says which version installs",
)


def zensical_build(project: Path) -> Path:
    """Run `zensical build` in project (mkdocs.yml as is); the built site folder."""
    proc = subprocess.run(
        [str(ZENSICAL), "build", "--clean", "-f", str(project / "mkdocs.yml")],
        capture_output=True, text=True, cwd=project, env=build_env(project / "var"),
        timeout=BUILD_SECONDS,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project / "site"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fresh Zensical build of a copy of the project's docs and overrides."""
    return zensical_build(copy_project(tmp_path / "project"))


@pytest.fixture
def bake_env(settings: Settings, built: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI pointed at the test's database and the copied project's docs/."""
    monkeypatch.setenv("COMMENTS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COMMENTS_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("COMMENTS_DOCS_DIR", str(built.parent / "docs"))
    return settings


def test_zensical_renders_the_article_with_the_form_and_empty_markers(built: Path) -> None:
    page = soup(page_path(built, ARTICLE))
    html = page_path(built, ARTICLE).read_text(encoding="utf-8")

    assert [h.get_text() for h in page.select("h1")] == ["Therapeutic Impasse"]
    assert page.select_one(".oml-updated time")["datetime"] == "2015-08-28"
    assert page.select_one(".oml-updated").get_text() == "Last updated 28 August 2015"
    assert '<!-- comments:begin article="therapeutic-impasse" -->' in html
    assert '<!-- comments:end article="therapeutic-impasse" -->' in html
    form = page.select_one("form#comment-form")
    assert form is not None and form["method"] == "post" and form["action"] == "/comments"
    assert page.select_one('input[name="article_id"]')["value"] == "therapeutic-impasse"
    assert page.select_one("#cs-terms + label a")["href"] == "../terms/"
    section = page.select_one("section.cs-comments")
    assert section["data-order"] == "oldest" and section["data-state"] == "open"
    # Before the bake: a place for the references, not yet the references.
    assert '<!-- references:begin article="therapeutic-impasse" -->' in html
    assert DOI_URL not in html


def test_bake_after_zensical_fills_comments_references_and_assets(
    built: Path, bake_env: Settings, database: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    add_comment(database, "therapeutic-impasse", "Reading this after a stuck session helped.",
                author="Noor")

    assert cli_main(["bake", str(built)]) == 0
    out = capsys.readouterr().out
    assert "finished the site" in out and "baked" in out

    path = page_path(built, ARTICLE)
    page = soup(path)
    thread = page.select_one(".cs-thread")
    assert "Reading this after a stuck session helped." in thread.get_text()
    assert page.select_one(".cs-count").get_text() == "1 comment"
    # The crisis signposts: the danger line with tappable numbers beside the form, and the
    # alert a no-JavaScript urgent post is sent back to (#comment-urgent).
    assert page.select_one("form#comment-form .cs-danger-line a.cs-tel") is not None
    alert = page.select_one("#comment-urgent")
    assert alert is not None and alert.select_one(".cs-alert-message").get_text().strip()
    references = page.select(".oml-references ol li")
    article = load_articles(built.parent / "docs").by_id()["therapeutic-impasse"]
    assert len(references) == len(article.references)
    assert references[0].select_one(f'a[href="{DOI_URL}"]') is not None
    assert any("(n.d.)." in item.get_text() for item in references)
    for selector, attribute in (('script[src$="comments.js"]', "src"),
                                ('link[href$="comments.css"]', "href")):
        linked = (path.parent / page.select_one(selector)[attribute]).resolve()
        assert linked.is_file(), f"{selector} points at a missing file"
        assert linked.stat().st_size > 1000
    assert (built / "comments-data").is_dir()


def test_bake_twice_after_zensical_changes_nothing(
    built: Path, bake_env: Settings, database: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    add_comment(database, "therapeutic-impasse", "Once is enough.")
    assert cli_main(["bake", str(built)]) == 0
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    capsys.readouterr()

    assert cli_main(["bake", str(built)]) == 0

    assert "finished the site" not in capsys.readouterr().out
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == before


def test_finishing_an_mkdocs_built_site_changes_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings,
) -> None:
    built = real_site(tmp_path_factory)
    assert built.returncode == 0, built.output
    site = shutil.copytree(built.site_dir, tmp_path / "site")
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}

    report = finish_site(site, REPO / "docs", signposts_for(settings))

    assert report.files_changed == []
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_check_docs_catches_what_a_zensical_build_lets_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_project(tmp_path / "project")
    article = project / "docs" / "therapeutic-impasse.md"
    article.write_text(article.read_text(encoding="utf-8").replace(
        "updated: 2015-08-28", "updated: last summer"), encoding="utf-8")

    zensical_build(project)  # Zensical does not validate our front matter

    assert cli_main(["check-docs", "--docs-dir", str(project / "docs")]) == 1
    assert "therapeutic-impasse.md: updated:" in capsys.readouterr().err


def test_articles_stay_out_of_the_sidebar(built: Path) -> None:
    home = soup(built / "index.html")
    nav_links = {a.get_text(strip=True) for a in home.select(".md-nav--primary a")}
    if "Therapeutic Impasse" in nav_links:
        pytest.skip("Zensical runs no MkDocs plugin, so articles_in_nav: false cannot keep "
                    "articles out of the sidebar (README, 'Building with Zensical')")
    assert "Therapeutic Impasse" not in nav_links


def test_home_page_lists_the_articles(built: Path) -> None:
    home = soup(built / "index.html")
    if not home.select(".oml-article-list__item"):
        pytest.skip("Zensical gives templates no list of articles, so the home page's "
                    "article list is empty (README, 'Building with Zensical')")
    assert len(home.select(".oml-article-list__item")) >= 4


def test_article_has_json_ld(built: Path) -> None:
    page = soup(page_path(built, ARTICLE))
    if page.select_one('script[type="application/ld+json"]') is None:
        pytest.skip("Zensical cannot run the plugin's article_jsonld filter, so article "
                    "pages carry no JSON-LD (README, 'Building with Zensical')")
