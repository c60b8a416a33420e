"""Crisis resources: where a reader can get help now, per region or language, from config.

The list is the operator's (COMMENTS_CRISIS_RESOURCES: a YAML or JSON file, or inline
JSON), with a fictional sample shipped in the package. It is validated strictly when the
service, the CLI or the site build starts, and every problem names its field, as in
``crisis_resources.regions.en[2].phone: ...``. The service's pages and the MkDocs plugin
both read it through :func:`resources_for`, so the baked page and the service agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from comments_service.config import Settings

DEFAULT_FILE = Path(__file__).resolve().parent / "crisis_resources.yaml"
ROOT = "crisis_resources"
RESOURCE_FIELDS = ("name", "phone", "text", "web", "hours", "note")
MAX_TEXT = {"name": 120, "hours": 120, "note": 300}
# What people write in a number: digits, spaces, dots, hyphens, brackets, a leading +.
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


class CrisisResourcesError(ValueError):
    """The configured resources are unusable; ``problems`` holds one line per field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("crisis resources are invalid:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class CrisisResource:
    """One place to get help, with its links ready for the page."""

    name: str
    phone: str = ""
    text: str = ""
    web: str = ""
    hours: str = ""
    note: str = ""

    @property
    def phone_href(self) -> str:
        """A tappable tel: link, digits only (and a leading +)."""
        return f"tel:{normalise_number(self.phone)}" if self.phone else ""

    @property
    def text_href(self) -> str:
        """sms: for a number, the URL itself for a chat line."""
        if not self.text:
            return ""
        if _URL.match(self.text):
            return self.text
        return f"sms:{normalise_number(self.text)}"

    @property
    def text_is_chat(self) -> bool:
        return bool(_URL.match(self.text))


@dataclass(frozen=True)
class ResourceSet:
    """Every region's list, and which one the settings choose."""

    regions: dict[str, tuple[CrisisResource, ...]]
    default_region: str

    def for_region(self, region: str) -> tuple[CrisisResource, ...]:
        """The list for a tag: exact match, then its language, then the default region."""
        wanted = region.strip().lower()
        lowered = {key.lower(): value for key, value in self.regions.items()}
        if wanted in lowered:
            return lowered[wanted]
        language = wanted.split("-", 1)[0]
        if language in lowered:
            return lowered[language]
        return self.regions[self.default_region]


def normalise_number(value: str) -> str:
    """'0808 157 0192' -> '08081570192'; '+44 (0)20 7946 0000' -> '+4402079460000'."""
    return ("+" if value.strip().startswith("+") else "") + re.sub(r"\D", "", value)


def _text_field(where: str, name: str, value: Any, problems: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(f"{where}.{name}: must be text")
        return ""
    text = " ".join(str(value).split())
    limit = MAX_TEXT.get(name)
    if limit and len(text) > limit:
        problems.append(f"{where}.{name}: must be at most {limit} characters")
    return text


def _check_number(where: str, text: str, problems: list[str]) -> None:
    digits = re.sub(r"\D", "", text)
    if not _PHONE_CHARS.match(text) or not 2 <= len(digits) <= 15:
        problems.append(f"{where}: {text!r} is not a phone number (use 2 to 15 digits, "
                        "with spaces, hyphens, dots or brackets and an optional leading +)")


def _resource(where: str, raw: Any, problems: list[str]) -> CrisisResource | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with at least a name")
        return None
    for key in raw:
        if key not in RESOURCE_FIELDS:
            problems.append(f"{where}.{key}: unknown field (allowed: "
                            f"{', '.join(RESOURCE_FIELDS)})")
    values = {name: _text_field(where, name, raw.get(name), problems)
              for name in RESOURCE_FIELDS}
    if not values["name"]:
        problems.append(f"{where}.name: is required")
    if values["phone"]:
        _check_number(f"{where}.phone", values["phone"], problems)
    if values["text"] and not _URL.match(values["text"]):
        _check_number(f"{where}.text", values["text"], problems)
    if values["web"] and not _URL.match(values["web"]):
        problems.append(f"{where}.web: {values['web']!r} is not an http(s) address")
    if not any(values[name] for name in ("phone", "text", "web", "note")):
        problems.append(f"{where}: needs at least one of phone, text, web or note")
    return CrisisResource(**values)


def _resource_list(where: str, raw: Any, problems: list[str]) -> tuple[CrisisResource, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: must be a non-empty list of resources")
        return ()
    found = (_resource(f"{where}[{i}]", item, problems) for i, item in enumerate(raw))
    return tuple(r for r in found if r is not None)


def parse_resources(raw: Any) -> ResourceSet:
    """Validate decoded YAML/JSON: a list (every region) or {default_region, regions}."""
    problems: list[str] = []
    if isinstance(raw, list):
        resources = _resource_list(ROOT, raw, problems)
        if problems:
            raise CrisisResourcesError(problems)
        return ResourceSet({"default": resources}, "default")
    if not isinstance(raw, dict):
        raise CrisisResourcesError([f"{ROOT}: must be a list of resources, or a mapping "
                                    "with default_region and regions"])
    for key in raw:
        if key not in ("default_region", "regions"):
            problems.append(f"{ROOT}.{key}: unknown field (allowed: default_region, regions)")
    regions: dict[str, tuple[CrisisResource, ...]] = {}
    raw_regions = raw.get("regions")
    if not isinstance(raw_regions, dict) or not raw_regions:
        problems.append(f"{ROOT}.regions: must map region or language tags to lists")
    else:
        for tag, items in raw_regions.items():
            if not isinstance(tag, str) or not _TAG.match(tag):
                problems.append(f"{ROOT}.regions.{tag}: not a language or region tag "
                                "(for example en or en-GB)")
                continue
            regions[tag] = _resource_list(f"{ROOT}.regions.{tag}", items, problems)
    default = raw.get("default_region")
    if not isinstance(default, str) or not default:
        problems.append(f"{ROOT}.default_region: is required (one of the regions)")
    elif regions and default not in regions:
        problems.append(f"{ROOT}.default_region: {default!r} is not one of the regions "
                        f"({', '.join(regions)})")
    if problems:
        raise CrisisResourcesError(problems)
    return ResourceSet(regions, str(default))


@lru_cache(maxsize=8)
def _load(source: str, stamp: float) -> ResourceSet:
    # stamp (the file's mtime) is part of the key, so an edited file is read again.
    text = source
    if not source.lstrip().startswith(("{", "[")):
        path = Path(source) if source else DEFAULT_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CrisisResourcesError(
                [f"{ROOT}: cannot read {path}: {exc.strerror or exc}"]) from exc
    try:
        raw = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise CrisisResourcesError([f"{ROOT}: not valid YAML or JSON{at}"]) from exc
    return parse_resources(raw)


def load_resources(source: str) -> ResourceSet:
    """The resources a COMMENTS_CRISIS_RESOURCES value names (empty: the packaged sample).

    Raises CrisisResourcesError listing every bad field.
    """
    stamp = 0.0
    if not source.lstrip().startswith(("{", "[")):
        try:
            stamp = (Path(source) if source else DEFAULT_FILE).stat().st_mtime
        except OSError:
            stamp = -1.0
    return _load(source, stamp)


def resources_for(settings: Settings) -> tuple[CrisisResource, ...]:
    """The resources for the configured region; raises CrisisResourcesError when invalid."""
    resource_set = load_resources(settings.crisis_resources)
    region = settings.crisis_region or resource_set.default_region
    return resource_set.for_region(region)


def to_json(resources: tuple[CrisisResource, ...]) -> str:
    """The resources with their links, for a data attribute the page's script reads."""
    return json.dumps([
        {"name": r.name, "phone": r.phone, "phone_href": r.phone_href, "text": r.text,
         "text_href": r.text_href, "web": r.web, "hours": r.hours, "note": r.note}
        for r in resources
    ], ensure_ascii=False)
