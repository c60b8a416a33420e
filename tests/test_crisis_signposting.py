"""Crisis resources: configured per region, validated naming the field, shown by the form."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import make_settings
from service_support import OPEN, app_client, service_env, with_docs
from site_support import REPO, copy_project, mkdocs_build, page_path, real_site, soup

from comments_service.config import Settings
from comments_service.verbs import spam
from comments_service.verbs.crisis_resources import (
    CrisisResourcesError,
    load_resources,
    resources_for,
)
from comments_service.web.app import create_app

ARTICLE = "therapeutic-impasse/"
REGIONS_YAML = """\
default_region: en
regions:
  en:
    - name: Sample Line (fictional)
      phone: "+44 (0)1632 960 123"
  en-GB:
    - name: Sample UK Line (fictional)
      phone: 01632 960 999
      text: "07700 900 123"
      hours: Mon-Fri 09:00-17:00
  fr:
    - name: Ligne d'exemple (fictive)
      text: https://chat.example.org/fr
      web: https://aide.example.org/
"""


def settings_with(tmp_path: Path, **values: object) -> Settings:
    return make_settings(tmp_path, **values)


def problems(source: str) -> list[str]:
    with pytest.raises(CrisisResourcesError) as caught:
        load_resources(source)
    return caught.value.problems


# The configuration -------------------------------------------------------------------


def test_packaged_sample_is_valid_fictional_and_says_to_replace_it(tmp_path: Path) -> None:
    resources = resources_for(settings_with(tmp_path))
    assert resources[0].name == "Your local emergency number"
    assert all("fictional" in r.name for r in resources[1:])
    sample = (REPO / "comments_service" / "verbs" / "crisis_resources.yaml").read_text()
    assert "must" in sample and "replace them with real services" in sample


def test_region_picks_exact_tag_then_language_then_default(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yaml"
    path.write_text(REGIONS_YAML, encoding="utf-8")

    def names(region: str) -> list[str]:
        settings = settings_with(tmp_path, crisis_resources=str(path), crisis_region=region)
        return [r.name for r in resources_for(settings)]

    assert names("en-GB") == ["Sample UK Line (fictional)"]
    assert names("fr-CA") == ["Ligne d'exemple (fictive)"]
    assert names("de") == ["Sample Line (fictional)"]
    assert names("") == ["Sample Line (fictional)"]


def test_numbers_become_tappable_tel_and_sms_links_with_digits_only(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yaml"
    path.write_text(REGIONS_YAML, encoding="utf-8")
    (uk,) = resources_for(settings_with(tmp_path, crisis_resources=str(path),
                                        crisis_region="en-GB"))
    assert uk.phone == "01632 960 999"
    assert uk.phone_href == "tel:01632960999"
    assert uk.text_href == "sms:07700900123"
    (en,) = resources_for(settings_with(tmp_path, crisis_resources=str(path)))
    assert en.phone_href == "tel:+4401632960123"
    (fr,) = resources_for(settings_with(tmp_path, crisis_resources=str(path),
                                        crisis_region="fr"))
    assert fr.text_href == "https://chat.example.org/fr"


def test_inline_json_list_serves_every_region(tmp_path: Path) -> None:
    value = json.dumps([{"name": "Inline Line (fictional)", "phone": "0808 157 0000"}])
    settings = settings_with(tmp_path, crisis_resources=value, crisis_region="pt-BR")
    assert [r.phone_href for r in resources_for(settings)] == ["tel:08081570000"]


def test_each_bad_field_is_named_with_its_place_in_the_list() -> None:
    found = problems(json.dumps({"default_region": "en", "regions": {"en": [
        {"name": "Fine Line", "phone": "0808 157 0001"},
        {"name": "Another", "web": "https://example.org/"},
        {"name": "Broken", "phone": "call us!", "text": "not a number", "web": "ftp://x",
         "fax": "1"},
        {"phone": "0808 157 0002"},
        {"name": "Nothing to reach"},
    ]}}))
    assert any(p.startswith("crisis_resources.regions.en[2].phone: 'call us!' is not a "
                            "phone number") for p in found), found
    assert any(p.startswith("crisis_resources.regions.en[2].text: ") for p in found), found
    assert any(p.startswith("crisis_resources.regions.en[2].web: ") for p in found), found
    assert any(p.startswith("crisis_resources.regions.en[2].fax: unknown field")
               for p in found), found
    assert "crisis_resources.regions.en[3].name: is required" in found
    assert ("crisis_resources.regions.en[4]: needs at least one of phone, text, web or note"
            in found)
    assert not any("en[0]" in p or "en[1]" in p for p in found)


def test_bad_documents_are_refused_with_a_reason(tmp_path: Path) -> None:
    assert problems('{"regions": {"en": []}}') == [
        "crisis_resources.regions.en: must be a non-empty list of resources",
        "crisis_resources.default_region: is required (one of the regions)",
    ]
    assert problems('{"default_region": "xx", "regions": {"en": [{"name": "A", "note": "b"}]}}'
                    ) == ["crisis_resources.default_region: 'xx' is not one of the regions (en)"]
    missing = tmp_path / "nope.yaml"
    assert problems(str(missing))[0].startswith(f"crisis_resources: cannot read {missing}")
    broken = tmp_path / "broken.yaml"
    broken.write_text("regions: [unclosed\n", encoding="utf-8")
    assert problems(str(broken))[0].startswith("crisis_resources: not valid YAML or JSON (line")


def test_the_service_refuses_to_start_naming_the_bad_field(tmp_path: Path) -> None:
    value = json.dumps([{"name": "Line", "phone": "12"}, {"name": "Bad", "phone": "x"}])
    with pytest.raises(CrisisResourcesError, match=r"crisis_resources\[1\]\.phone"):
        create_app(settings_with(tmp_path, crisis_resources=value))


def test_serve_command_stops_with_the_field_before_starting(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    env = service_env(settings, COMMENTS_CRISIS_RESOURCES='[{"name": "Bad", "web": "nope"}]')
    result = subprocess.run(
        [sys.executable, "-m", "comments_service.cli", "serve", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "crisis_resources[0].web: 'nope' is not an http(s) address" in result.stderr


def test_site_build_fails_naming_the_bad_field(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var", extra_env={
        "COMMENTS_CRISIS_RESOURCES": '[{"name": "Bad", "phone": "none"}]'})
    assert result.returncode != 0
    assert "crisis_resources[0].phone: 'none' is not a phone number" in result.output


# On the page ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def article(tmp_path_factory: pytest.TempPathFactory) -> BeautifulSoup:
    result = real_site(tmp_path_factory)
    assert result.returncode == 0, result.output
    return soup(page_path(result.site_dir, ARTICLE))


def test_baked_page_has_the_danger_line_with_tappable_numbers_in_the_form(
    article: BeautifulSoup,
) -> None:
    form = article.select_one("form#comment-form")
    line = form.select_one(".cs-danger-line")
    assert line.get_text(" ", strip=True).startswith("If you are in danger now")
    assert [a["href"] for a in line.select("a.cs-tel")] == ["tel:08081570192"]
    # Before the fields, so it is read before anything is typed.
    assert form.select_one("#cs-author").find_previous(class_="cs-danger-line") is line


def test_baked_page_holds_the_urgent_alert_hidden_by_default(article: BeautifulSoup) -> None:
    alert = article.select_one("#comment-urgent")
    assert alert["role"] == "alert"
    assert alert.select_one("h3").get_text(strip=True) == "If you are in danger now"
    assert {a["href"] for a in alert.select("a.cs-tel, a.cs-sms")} == {
        "tel:08081570192", "sms:07700900461"}
    # Distinct from the thank-you box, and not inside it.
    assert alert.find_parent(id="comment-pending") is None
    assert "cs-notice" not in alert["class"]
    css = article.find("style", string=lambda s: s and ".cs-alert" in s).string
    assert ".md-typeset .cs-alert {\n  display: none;" in css
    assert ".md-typeset .cs-alert:target" in css


def test_no_javascript_form_page_repeats_the_danger_line(settings: Settings,
                                                         tmp_path: Path) -> None:
    with app_client(with_docs(settings, tmp_path)) as client:
        token = spam.form_token(client.app.state.keyring.signing_key, OPEN,
                                now=time.time() - 60)
        response = client.post("/comments", data={
            "article_id": OPEN, "author": "", "email": "noor@example.org",
            "body": "Thanks.", "accept_terms": "yes", "form_token": token})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html5lib")
    line = page.select_one(".cs-danger-line")
    assert line is not None and line.find_next("form") is not None
    assert [a["href"] for a in line.select("a.cs-tel")] == ["tel:08081570192"]


def test_site_build_uses_the_service_region_and_notes_staffed_hours(tmp_path: Path) -> None:
    resources = tmp_path / "crisis.yaml"
    resources.write_text(REGIONS_YAML, encoding="utf-8")
    project = copy_project(tmp_path / "project")
    result = mkdocs_build(project, tmp_path / "site", tmp_path / "var", extra_env={
        "COMMENTS_CRISIS_RESOURCES": str(resources), "COMMENTS_CRISIS_REGION": "en-GB",
        "COMMENTS_STAFFED_HOURS": "Mon-Fri 09:00-17:00",
        "COMMENTS_STAFFED_TIMEZONE": "Europe/London"})
    assert result.returncode == 0, result.output
    form = soup(page_path(result.site_dir, ARTICLE)).select_one("form#comment-form")
    line = form.select_one(".cs-danger-line")
    assert "Sample UK Line (fictional)" in line.get_text()
    assert [a["href"] for a in line.select("a.cs-tel")] == ["tel:01632960999"]
    # Static, so generic; the script replaces it with the next staffed time.
    assert form.select_one(".cs-offhours").get_text(strip=True).startswith(
        "Our team reads comments during staffed hours")
