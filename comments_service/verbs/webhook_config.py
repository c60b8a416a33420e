"""Webhook endpoints: the operator's list (COMMENTS_WEBHOOKS), read and validated strictly.

The list is inline JSON or a YAML or JSON file; every problem names its field, as in
``webhooks[1].url: must be an http or https URL``, and the service, ``serve`` and the CLI
refuse to start with it. Secrets stay here, in the configuration: outbox rows name their
endpoint, so a rotated secret or a moved URL applies to deliveries already queued.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from comments_service.config import Settings

log = logging.getLogger("comments_service.webhooks")
ROOT = "webhooks"
FORMATS = ("slack", "matrix", "json")
EVENT_PENDING = "comment.pending"
EVENT_URGENT = "comment.urgent"
EVENT_APPROVED = "comment.approved"
EVENT_REPORTED = "comment.reported"
EVENTS = (EVENT_PENDING, EVENT_URGENT, EVENT_APPROVED, EVENT_REPORTED)
MIN_SECRET = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_FIELDS = ("name", "url", "format", "secret", "events")


class WebhookConfigError(ValueError):
    """The configured endpoints are unusable; ``problems`` holds one line per field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("webhooks are invalid:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Endpoint:
    """One place events are POSTed to."""

    name: str
    url: str
    format: str
    secret: str = ""
    events: tuple[str, ...] = EVENTS

    def wants(self, event: str) -> bool:
        return event in self.events


def _endpoint(where: str, raw: Any, names: set[str], problems: list[str]) -> Endpoint | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with name, url and format")
        return None
    before = len(problems)
    for key in raw:
        if key not in _FIELDS:
            problems.append(f"{where}.{key}: unknown field (use {', '.join(_FIELDS)})")
    name, url, fmt = raw.get("name"), raw.get("url"), raw.get("format", "json")
    secret, events = raw.get("secret", ""), raw.get("events", list(EVENTS))
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}.name: must be 1-64 letters, digits, '.', '_' or '-'")
    elif name in names:
        problems.append(f"{where}.name: '{name}' is used by another endpoint")
    else:
        names.add(name)
    if not isinstance(url, str) or not _URL.match(url):
        problems.append(f"{where}.url: must be an http or https URL")
    if fmt not in FORMATS:
        problems.append(f"{where}.format: must be one of {', '.join(FORMATS)}")
    if not isinstance(secret, str):
        problems.append(f"{where}.secret: must be text")
    elif secret and len(secret) < MIN_SECRET:
        problems.append(f"{where}.secret: must be at least {MIN_SECRET} characters")
    elif fmt == "json" and not secret:
        # Slack and Matrix bridges authenticate by the URL's own token; a generic
        # receiver has only the signature to tell our calls from anyone's.
        problems.append(f"{where}.secret: required for the json format")
    if not isinstance(events, list) or not events:
        problems.append(f"{where}.events: must be a non-empty list of {', '.join(EVENTS)}")
    else:
        for index, event in enumerate(events):
            if event not in EVENTS:
                problems.append(f"{where}.events[{index}]: must be one of {', '.join(EVENTS)}")
    if len(problems) > before:
        return None
    return Endpoint(name=name, url=url, format=fmt, secret=secret, events=tuple(events))


def parse_endpoints(raw: Any) -> tuple[Endpoint, ...]:
    """Endpoints from the decoded list; raises WebhookConfigError naming every bad field."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise WebhookConfigError([f"{ROOT}: must be a list of endpoints"])
    problems: list[str] = []
    names: set[str] = set()
    found = [_endpoint(f"{ROOT}[{i}]", item, names, problems) for i, item in enumerate(raw)]
    if problems:
        raise WebhookConfigError(problems)
    return tuple(endpoint for endpoint in found if endpoint is not None)


@lru_cache(maxsize=8)
def _load(source: str, stamp: float) -> tuple[Endpoint, ...]:
    # stamp (the file's mtime) is part of the key, so an edited file is read again.
    text = source
    if not source.lstrip().startswith(("[", "{")):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise WebhookConfigError(
                [f"{ROOT}: cannot read {source}: {exc.strerror or exc}"]) from exc
    try:
        raw = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise WebhookConfigError([f"{ROOT}: not valid YAML or JSON{at}"]) from exc
    return parse_endpoints(raw)


def endpoints_for(settings: Settings) -> tuple[Endpoint, ...]:
    """The configured endpoints (none when COMMENTS_WEBHOOKS is empty).

    Raises WebhookConfigError listing every bad field.
    """
    source = settings.webhooks
    if not source.strip():
        return ()
    stamp = 0.0
    if not source.lstrip().startswith(("[", "{")):
        try:
            stamp = Path(source).stat().st_mtime
        except OSError:
            stamp = -1.0
    return _load(source, stamp)


def running_endpoints(settings: Settings) -> tuple[Endpoint, ...]:
    """The endpoints while the service runs: a file broken since start-up is logged and
    treated as empty, so a reader's post or report never fails because of it."""
    try:
        return endpoints_for(settings)
    except WebhookConfigError as exc:
        log.error("webhooks disabled until the configuration is fixed: %s", exc)
        return ()


def by_name(settings: Settings, name: str) -> Endpoint | None:
    """The endpoint a queued delivery names, or None when it is no longer configured."""
    return next((e for e in running_endpoints(settings) if e.name == name), None)
