"""The name field in Debian's Chromium counts characters as the service does.

The service (and the OpenAPI document) count a name's 80 characters in Unicode code
points; the browser's maxlength counts UTF-16 units, in which an emoji or a CJK Extension B
character takes two. With the script the field takes 80 such characters and cuts the
81st; without it, maxlength stays, so the page can only be stricter than the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import launched_chromium

pytestmark = pytest.mark.browser

ARTICLE = "therapeutic-impasse/"
WAIT_MS = 10_000
CODE_POINTS = "el => Array.from(el.value).length"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("character", ["\U0001f600", "\U00020000"])
def test_the_script_takes_80_characters_outside_the_bmp_and_cuts_the_81st(
    browser: Any, real_site_url: str, character: str
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(real_site_url + ARTICLE, wait_until="networkidle")
        name = page.locator("#cs-author")
        page.wait_for_selector("#cs-author[data-max-chars='80']", state="attached")
        assert name.get_attribute("maxlength") is None

        name.focus()
        page.keyboard.insert_text(character * 80)
        assert name.evaluate(CODE_POINTS) == 80
        page.keyboard.insert_text(character)
        assert name.evaluate(CODE_POINTS) == 80
        assert name.input_value() == character * 80
    finally:
        context.close()


def test_without_the_script_maxlength_is_only_stricter(browser: Any,
                                                        real_site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(real_site_url + ARTICLE)
        name = page.locator("#cs-author")
        assert name.get_attribute("maxlength") == "80"

        name.focus()
        page.keyboard.insert_text("\U0001f600" * 80)
        # 40 emoji fill 80 UTF-16 units: fewer than the service would take, never more.
        assert len(name.input_value()) == 40
    finally:
        context.close()
