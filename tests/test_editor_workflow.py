"""An editor's workflow that cannot take the site down: safe builds, clear checks, ids kept.

A failed build leaves the served site as it was; check-docs catches what editors get wrong
(no front matter, an empty tags line, the template's placeholder left in) and, when two
files claim one id, blames the newer file rather than the article whose comments use it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from site_support import REPO, copy_project

from comments_service.cli import main as cli_main


def check_docs(docs: Path) -> int:
    return cli_main(["check-docs", "--docs-dir", str(docs)])


def article(docs: Path, name: str, article_id: str, **fields: str) -> Path:
    front = {"title": name.title(), "description": "A short description.", "id": article_id,
             "updated": "2024-05-01", **fields}
    lines = "".join(f"{key}: {value}\n" for key, value in front.items())
    path = docs / f"{name}.md"
    path.write_text(f"---\n{lines}---\n\n# {name.title()}\n\nText.\n", encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "Editor", "GIT_AUTHOR_EMAIL":
                        "editor@example.org", "GIT_COMMITTER_NAME": "Editor",
                        "GIT_COMMITTER_EMAIL": "editor@example.org"})


# Building ---------------------------------------------------------------------------------


def build_site(project: Path) -> int:
    return cli_main(["build-site", "--quiet", "-f", str(project / "mkdocs.yml")])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    built = copy_project(tmp_path / "project")
    monkeypatch.chdir(built)
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")
    return built


def test_a_successful_build_replaces_the_site(project: Path) -> None:
    stale = project / "site" / "stale.html"
    stale.parent.mkdir()
    stale.write_text("old page", encoding="utf-8")

    assert build_site(project) == 0

    assert (project / "site" / "therapeutic-impasse" / "index.html").is_file()
    assert not stale.exists()
    assert not [p for p in project.iterdir() if p.name.startswith(".site.")]


def test_a_failed_build_leaves_the_served_site_exactly_as_it_was(
    project: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert build_site(project) == 0
    page = project / "site" / "therapeutic-impasse" / "index.html"
    before = page.read_bytes()
    article(project / "docs", "broken", "Not_A_Valid_Id")

    assert build_site(project) == 1

    err = capsys.readouterr().err
    assert "broken.md: id:" in err
    assert "was left as it was" in err
    assert page.read_bytes() == before
    assert not [p for p in project.iterdir() if p.name.startswith(".site.")]


def test_a_strict_warning_fails_the_build_and_names_the_cause(
    project: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "docs" / "terms.md").write_text(
        "---\ntitle: Terms of use\n---\n\n# Terms\n\n[broken](nowhere.md)\n", encoding="utf-8")

    assert build_site(project) == 1

    assert "nowhere.md" in capsys.readouterr().err
    assert not (project / "site").exists()


# Checking ---------------------------------------------------------------------------------


def test_a_markdown_file_without_front_matter_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    docs = copy_project(tmp_path / "project") / "docs"
    (docs / "draft.md").write_text("# A draft\n\nNo front matter here.\n", encoding="utf-8")

    assert check_docs(docs) == 1

    assert "draft.md: (front matter): is missing" in capsys.readouterr().err


def test_an_empty_tags_line_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    docs = copy_project(tmp_path / "project") / "docs"
    article(docs, "tagless", "tagless", tags="")

    assert check_docs(docs) == 1

    assert "tagless.md: tags: is empty" in capsys.readouterr().err


def test_the_template_placeholder_description_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    docs = copy_project(tmp_path / "project") / "docs"
    assert cli_main(["new-article", "A fresh draft", "--docs-dir", str(docs)]) == 0

    assert check_docs(docs) == 0

    err = capsys.readouterr().err
    assert "a-fresh-draft.md: description: warning: is still the template's placeholder" in err


def test_a_duplicate_id_blames_the_file_git_saw_last_not_the_first_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    git(docs, "init", "-q")
    article(docs, "zeta", "shared-id")
    git(docs, "add", ".")
    git(docs, "commit", "-q", "-m", "zeta", "--date", "2021-01-01T00:00:00Z")
    article(docs, "alpha", "shared-id")  # sorts first, but came later
    git(docs, "add", ".")
    subprocess.run(["git", "commit", "-q", "-m", "alpha"], cwd=docs, check=True,
                   capture_output=True, env={
                       **os.environ, "GIT_AUTHOR_NAME": "Editor",
                       "GIT_AUTHOR_EMAIL": "editor@example.org", "GIT_COMMITTER_NAME": "Editor",
                       "GIT_COMMITTER_EMAIL": "editor@example.org",
                       "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"})

    assert check_docs(docs) == 1

    err = capsys.readouterr().err
    assert "alpha.md: id: 'shared-id' is already the id of zeta.md" in err
    assert "such as 'shared-id-2'" in err
    assert "zeta.md: id" not in err


def test_outside_git_the_newer_file_by_modification_time_is_blamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    older = article(docs, "older", "kept-id")
    newer = article(docs, "newer", "kept-id")
    os.utime(older, (1_600_000_000, 1_600_000_000))
    os.utime(newer, (1_700_000_000, 1_700_000_000))

    assert check_docs(docs) == 1

    err = capsys.readouterr().err
    assert "newer.md: id: 'kept-id' is already the id of older.md" in err
    assert "older.md: id" not in err


def test_the_readme_new_article_example_works_on_a_fresh_clone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"`\.venv/bin/comments-service (new-article [^`]+)`\s+writes\s+`([^`]+)`",
                        readme)
    assert example, "the README's new-article example was not found"
    command, written = shlex.split(example.group(1)), example.group(2)
    project = copy_project(tmp_path / "project")

    assert cli_main([*command, "--docs-dir", str(project / "docs")]) == 0

    assert (project / written).is_file()
    assert check_docs(project / "docs") == 0
