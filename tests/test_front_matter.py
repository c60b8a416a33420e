"""Broken front matter in a copied docs tree fails the strict build and check-docs alike,
naming the file and the field, with every problem reported in one run."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from site_support import REPO, copy_project, mkdocs_build

from comments_service.cli import main as cli_main

ARTICLE_FILE = "therapeutic-impasse.md"
OTHER_FILE = "ending-therapy-well.md"


def edit(docs: Path, name: str, pattern: str, replacement: str) -> None:
    path = docs / name
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), count=1,
                          flags=re.M)
    assert count == 1, f"{pattern!r} not found in {name}"
    path.write_text(text, encoding="utf-8")


def drop_title(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^title: .*\n", "")


def impossible_date(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^updated: .*$", "updated: 2015-02-30")


def worded_date(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^updated: .*$", "updated: 28 August 2015")


def malformed_doi(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^    doi: .*$", "    doi: 10.1037 0022-006X")


def duplicate_id(docs: Path) -> None:
    edit(docs, OTHER_FILE, r"^id: .*$", "id: therapeutic-impasse")


def long_description(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^description: .*$", "description: " + "word " * 40)


def bad_yaml(docs: Path) -> None:
    edit(docs, ARTICLE_FILE, r"^tags:$", "tags: [Psychotherapy")


def unknown_comments_state(docs: Path) -> None:
    edit(docs, OTHER_FILE, r"^comments: .*$", "comments: maybe")


# (breakage, file named, field named, words of the message)
CASES: list[tuple[Callable[[Path], None], str, str, str]] = [
    (drop_title, ARTICLE_FILE, "title", "is required"),
    (impossible_date, ARTICLE_FILE, "updated", "'2015-02-30' is not a date"),
    (worded_date, ARTICLE_FILE, "updated", "'28 August 2015' is not a date"),
    (malformed_doi, ARTICLE_FILE, "references[1].doi", "is not a DOI"),
    # The file that took an existing id is blamed, never the article whose comments use it.
    (duplicate_id, OTHER_FILE, "id", f"'therapeutic-impasse' is already the id of {ARTICLE_FILE}"),
    (long_description, ARTICLE_FILE, "description", "at most 160"),
    (bad_yaml, ARTICLE_FILE, "(front matter)", "is not valid YAML"),
    (unknown_comments_state, OTHER_FILE, "comments", "must be one of: open, closed, hidden"),
]


def broken_copy(tmp_path: Path, *breakages: Callable[[Path], None]) -> Path:
    project = copy_project(tmp_path / "project")
    for breakage in breakages:
        breakage(project / "docs")
    return project


def check_docs(docs: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_main(["check-docs", "--docs-dir", str(docs)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("breakage", "file", "field", "message"), CASES,
                         ids=[case[0].__name__ for case in CASES])
def test_strict_build_fails_naming_file_and_field(
    tmp_path: Path, breakage: Callable[[Path], None], file: str, field: str, message: str
) -> None:
    project = broken_copy(tmp_path, breakage)
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode != 0
    line = next((ln for ln in result.output.splitlines() if f"{file}: {field}: " in ln), None)
    assert line is not None, result.output
    assert message in line
    assert not (tmp_path / "site" / "index.html").exists()


@pytest.mark.parametrize(("breakage", "file", "field", "message"), CASES,
                         ids=[case[0].__name__ for case in CASES])
def test_check_docs_reports_the_same_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], breakage: Callable[[Path], None],
    file: str, field: str, message: str
) -> None:
    project = broken_copy(tmp_path, breakage)
    code, output = check_docs(project / "docs", capsys)
    assert code == 1
    line = next((ln for ln in output.splitlines() if f"{file}: {field}: " in ln), None)
    assert line is not None, output
    assert message in line


def test_every_problem_is_reported_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = broken_copy(tmp_path, drop_title, malformed_doi, long_description,
                          unknown_comments_state)
    expected = [f"{ARTICLE_FILE}: title: ", f"{ARTICLE_FILE}: references[1].doi: ",
                f"{ARTICLE_FILE}: description: ", f"{OTHER_FILE}: comments: "]
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var")
    assert result.returncode != 0
    assert "2 file(s)" in result.output
    code, output = check_docs(project / "docs", capsys)
    assert code == 1
    assert "4 problem(s) found" in output
    for fragment in expected:
        assert fragment in result.output
        assert fragment in output


def test_check_docs_passes_the_real_docs(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = check_docs(REPO / "docs", capsys)
    assert code == 0, output
    assert "article(s) OK" in output


def test_a_page_without_id_but_with_article_fields_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = broken_copy(tmp_path, lambda docs: edit(docs, ARTICLE_FILE, r"^id: .*\n", ""))
    code, output = check_docs(project / "docs", capsys)
    assert code == 1
    assert f"{ARTICLE_FILE}: id: is required for an article" in output


def test_the_service_catalog_validates_references_but_does_not_keep_them(
    tmp_path: Path,
) -> None:
    from comments_service.articles.catalog import Catalog
    from comments_service.articles.front_matter import load_articles

    good = copy_project(tmp_path / "good") / "docs"
    article = next(a for a in load_articles(good).articles if a.source_path == ARTICLE_FILE)
    article_id = article.id
    assert article.references
    assert Catalog(good).get(article_id) is not None
    assert Catalog(good).get(article_id).references == ()  # type: ignore[union-attr]

    # A broken reference still keeps the article out of the service, as out of the build.
    broken = broken_copy(tmp_path, malformed_doi) / "docs"
    broken_ids = {a.id for a in load_articles(broken).articles}
    assert article_id not in broken_ids
    assert Catalog(broken).get(article_id) is None
