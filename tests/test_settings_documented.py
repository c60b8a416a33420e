"""Every setting is documented: in config.py with help text and in the README's table."""

from __future__ import annotations

import pytest
from conftest import REPO

from comments_service.config import Settings

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_has_help_text(name: str) -> None:
    assert Settings.model_fields[name].description, f"{name} has no description"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_in_the_readme(name: str) -> None:
    assert f"`COMMENTS_{name.upper()}`" in README, f"COMMENTS_{name.upper()} missing from README"
