"""Structured JSON logs: one line per event, never an email address or a raw IP."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

EVENTS = logging.getLogger("comments_service.events")
# The levels `serve --log-level` takes; the CLI offers them without importing the server.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Fields that must never reach a log line, whatever a caller passes.
_FORBIDDEN_KEYS = re.compile(r"email|ip$|^ip_|password|token|secret", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


def log_write(event: str, **fields: object) -> None:
    """Log one write (a comment stored, approved, erased ...) as a JSON object.

    Keys that look like emails, IPs, passwords or tokens are dropped, and anything shaped
    like an email address inside a value is masked, so a careless caller cannot leak one.
    """
    record: dict[str, object] = {"event": event}
    for key, value in fields.items():
        if _FORBIDDEN_KEYS.search(key):
            continue
        if isinstance(value, str):
            value = _EMAIL_RE.sub("[email]", value)
        record[key] = value
    EVENTS.info("%s", json.dumps(record, ensure_ascii=False, default=str))


class JsonFormatter(logging.Formatter):
    """Formats every record as one JSON object with time, level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == EVENTS.name:
            try:
                payload.update(json.loads(message))
            except ValueError:
                payload["message"] = message
        else:
            payload["message"] = message
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send the service's logs to stderr as JSON lines (for the server processes)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("comments_service")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def server_log_config(level: str = "info") -> dict[str, object]:
    """A logging dictConfig for granian, so the server's own lines are JSON too.

    Granian logs as ``_granian`` (its own events) and ``granian.access`` (one line per
    request, only when access logs are on).
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json",
               "stream": "ext://sys.stderr"}
    logger = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    loggers = {name: dict(logger) for name in ("_granian", "comments_service")}
    loggers["granian.access"] = {**logger, "level": "INFO"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": loggers,
    }
