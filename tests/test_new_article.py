"""The new-article editor command: a fresh page with a unique id that builds and is listed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import frontmatter
import pytest
from site_support import copy_project, mkdocs_build, page_path, soup

from comments_service.articles.front_matter import load_articles
from comments_service.cli import main as cli_main


def new_article(docs: Path, *args: str) -> int:
    return cli_main(["new-article", *args, "--docs-dir", str(docs)])


def test_new_article_builds_and_appears_on_the_home_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    docs = project / "docs"
    assert new_article(docs, "Some Title") == 0
    assert "some-title.md" in capsys.readouterr().out

    post = frontmatter.loads((docs / "some-title.md").read_text(encoding="utf-8"))
    assert post["title"] == "Some Title"
    assert post["id"] == "some-title"
    assert str(post["updated"]) == dt.date.today().isoformat()
    assert post["comments"] == "open"

    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode == 0, result.output
    page = soup(page_path(result.site_dir, "some-title/"))
    assert page.select_one("article h1").get_text(strip=True) == "Some Title"
    assert page.select_one(".oml-updated time")["datetime"] == dt.date.today().isoformat()
    listed = soup(result.site_dir / "index.html").select_one('[data-article-id="some-title"]')
    assert listed is not None
    assert listed.find("a")["href"].rstrip("/").endswith("some-title")


def test_new_article_id_is_unique_even_when_the_slug_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    docs = project / "docs"
    # A renamed file keeps its id, so the slug of a new file can clash with an existing id.
    (docs / "therapeutic-impasse.md").rename(docs / "impasse.md")
    assert new_article(docs, "Therapeutic Impasse") == 0
    capsys.readouterr()
    ids = [a.id for a in load_articles(docs).articles]
    assert len(ids) == len(set(ids))
    created = frontmatter.loads((docs / "therapeutic-impasse.md").read_text(encoding="utf-8"))
    assert created["id"].startswith("therapeutic-impasse-")
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode == 0, result.output


def test_new_article_refuses_to_overwrite_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    docs = project / "docs"
    before = (docs / "ending-therapy-well.md").read_bytes()
    assert new_article(docs, "Ending Therapy Well") == 1
    assert "already exists" in capsys.readouterr().err
    assert (docs / "ending-therapy-well.md").read_bytes() == before


@pytest.mark.parametrize(("title", "slug"), [
    ('When "Stuck" Means Something', "when-stuck-means-something"),
    ("Back\\slash: a # note", "back-slash-a-note"),
    ("Thérapie: l'impasse", "therapie-l-impasse"),
])
def test_new_article_keeps_the_title_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], title: str, slug: str
) -> None:
    docs = copy_project(tmp_path / "project") / "docs"
    assert new_article(docs, title) == 0
    capsys.readouterr()
    post = frontmatter.loads((docs / f"{slug}.md").read_text("utf-8"))
    assert post["title"] == title
    assert load_articles(docs).ok
