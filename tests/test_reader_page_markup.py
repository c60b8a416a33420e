"""The article page's markup for big threads and honest feedback, from real MkDocs builds:
the thread order and poll interval the editor chose, the skip link, the polite live region,
and "Email me" offered only when the build's settings can send mail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from site_support import copy_project, mkdocs_build, page_path, real_site, soup

ARTICLE = "therapeutic-impasse/"


def test_the_default_build_orders_oldest_first_and_offers_no_mail(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    build = real_site(tmp_path_factory)
    assert build.returncode == 0, build.output
    page = soup(page_path(build.site_dir, ARTICLE))
    section = page.select_one("section.cs-comments")
    assert section["data-order"] == "oldest"
    assert section["data-poll"] == "30"
    skip = page.find("a", string="Skip to comments")
    assert skip["href"] == "#comments"
    assert page.select_one(".cs-live")["aria-live"] == "polite"
    assert page.select_one(".cs-notify").has_attr("hidden")


def test_the_editor_chooses_newest_first_and_mail_shows_when_smtp_is_set(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "thread_order: oldest" in text
    config.write_text(text.replace("thread_order: oldest",
                                   "thread_order: newest\n      poll_seconds: 60"),
                      encoding="utf-8")
    build = mkdocs_build(project, tmp_path / "site", tmp_path / "var",
                         {"COMMENTS_SMTP_HOST": "127.0.0.1"})
    assert build.returncode == 0, build.output
    page = soup(page_path(build.site_dir, ARTICLE))
    section = page.select_one("section.cs-comments")
    assert (section["data-order"], section["data-poll"]) == ("newest", "60")
    assert not page.select_one(".cs-notify").has_attr("hidden")


def test_a_wrong_thread_order_stops_the_build_naming_it(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    config = project / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "thread_order: oldest", "thread_order: sideways"), encoding="utf-8")
    build = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert build.returncode != 0
    assert "thread_order" in build.output
