"""The comments section as MkDocs builds it: open, closed, hidden, and baked after the build."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from site_support import build_env, copy_project, mkdocs_build, soup
from test_bake import add_comment, add_staff

from comments_service.config import Settings
from comments_service.site.bake import SiteBaker
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade

OPEN, CLOSED, HIDDEN = "therapeutic-impasse", "ending-therapy-well", "consulting-a-supervisor"


def set_comments(project: Path, article_file: str, state: str) -> None:
    path = project / "docs" / article_file
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^comments: \w+$", f"comments: {state}", text, count=1),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site with one article closed and one hidden, built with no comments database."""
    base = tmp_path_factory.mktemp("page-build")
    project = copy_project(base / "project")
    set_comments(project, "ending-therapy-well.md", "closed")
    set_comments(project, "consulting-a-supervisor.md", "hidden")
    result = mkdocs_build(project, base / "site", base / "var")
    assert result.returncode == 0, result.output
    # One warning, and the strict build still succeeded.
    assert result.output.count("comments were not baked") == 1, result.output
    return result.site_dir


def test_open_article_has_markers_and_a_labelled_form(built: Path) -> None:
    html = (built / OPEN / "index.html").read_text(encoding="utf-8")
    assert f'<!-- comments:begin article="{OPEN}" -->' in html
    assert f'<!-- comments:end article="{OPEN}" -->' in html
    page = soup(built / OPEN / "index.html")
    form = page.select_one("form#comment-form")
    assert form["method"] == "post" and form["action"] == "/comments"
    for name, label in (("author", "Name"), ("email", "Email"), ("body", "Comment")):
        control = form.select_one(f"[name={name}]")
        assert control.has_attr("required")
        assert page.select_one(f"label[for={control['id']}]").get_text().startswith(label)
    terms = form.select_one("input[name=accept_terms]")
    assert terms.has_attr("required")
    assert page.select_one("label[for=cs-terms] a")["href"] == "../terms/"
    assert form.select_one("input[name=notify]")["type"] == "checkbox"
    assert "* indicates a required field" in form.get_text()
    assert "not monitored for emergencies" in form.select_one(".cs-crisis").get_text()
    honeypot = form.select_one("input[name=website]")
    assert honeypot["tabindex"] == "-1"
    assert honeypot.find_parent(attrs={"aria-hidden": "true"}) is not None
    assert form.select_one("[role=status][aria-live=polite]") is not None
    assert form.select_one("input[name=article_id]")["value"] == OPEN
    scripts = [s["src"] for s in page.select("script[src]")]
    assert "../assets/comments/comments.js" in scripts
    assert (built / "assets" / "comments" / "comments.js").is_file()


def test_the_comments_stylesheet_is_inlined_so_it_holds_up_no_first_paint(built: Path) -> None:
    page = soup(built / OPEN / "index.html")
    styles = [style.string or "" for style in page.select("style")]
    assert any(".cs-comments" in style for style in styles)
    assert not any("comments" in link["href"] for link in page.select("link[rel=stylesheet]"))
    assert not (built / "assets" / "comments" / "comments.css").exists()


def test_closed_article_says_so_and_has_no_form(built: Path) -> None:
    page = soup(built / CLOSED / "index.html")
    section = page.select_one("section.cs-comments")
    assert section["data-state"] == "closed"
    assert "Comments are closed" in section.get_text()
    assert page.select_one("form#comment-form") is None
    assert f'comments:begin article="{CLOSED}"' in (built / CLOSED / "index.html").read_text()


def test_hidden_article_has_no_comments_at_all(built: Path) -> None:
    html = (built / HIDDEN / "index.html").read_text(encoding="utf-8")
    assert "comments:begin" not in html
    assert "cs-comments" not in html
    assert "comments.js" not in html and "comments.css" not in html


def test_pages_without_comments_do_not_load_the_script(built: Path) -> None:
    assert "comments.js" not in (built / "terms" / "index.html").read_text(encoding="utf-8")


def test_build_with_a_database_bakes_approved_comments(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    settings = Settings(var_dir=var_dir)
    database = Database(settings)
    upgrade(database)
    first = add_comment(database, OPEN, "Baked at build time", author="Ann")
    add_comment(database, OPEN, "A reply, baked too", author="Bo", parent_id=first, minutes=1)
    add_comment(database, OPEN, "Our answer", parent_id=first, staff=add_staff(database),
                minutes=2)
    add_comment(database, CLOSED, "Said before it closed", minutes=3)
    project = copy_project(tmp_path / "project")

    result = mkdocs_build(project, tmp_path / "site", var_dir)

    assert result.returncode == 0, result.output
    assert "not baked" not in result.output
    page = soup(result.site_dir / OPEN / "index.html")
    assert "Baked at build time" in page.select_one(".cs-thread").get_text()
    assert "A reply, baked too" in page.select_one("ol.cs-replies").get_text()
    assert page.select_one(".cs-staff .cs-signature").get_text() == "Clinical editor"
    assert page.select_one(".cs-count").get_text() == "3 comments"
    assert page.select_one(".cs-thread").has_attr("data-nosnippet")
    token = page.select_one('input[name="form_token"]')
    assert token["form"] == "comment-form"
    closed = soup(result.site_dir / CLOSED / "index.html")
    assert "Said before it closed" in closed.select_one(".cs-thread").get_text()

    # The build bakes in memory exactly what `comments-service bake` writes into a built
    # page, so baking the fresh site again changes no byte of any page.
    try:
        report = SiteBaker(database, result.site_dir, settings.nosnippet).bake()
    finally:
        database.dispose()
    assert report.articles >= {OPEN, CLOSED}
    assert report.pages_changed == []


def test_build_with_an_unreachable_database_still_succeeds(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    env = build_env(tmp_path / "var")
    # Nothing listens on port 9 (discard), so the connection is refused at once.
    env["COMMENTS_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    env["COMMENTS_SECRET_KEY"] = "x" * 40

    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(project / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        capture_output=True, text=True, env=env, cwd=project, timeout=300,
    )

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output.count("comments were not baked") == 1, output
    assert "WARNING -  comments: the comments database is unreachable" in output
    page = soup(tmp_path / "site" / OPEN / "index.html")
    assert page.select_one(".cs-count").get_text() == "Loading comments\u2026"
