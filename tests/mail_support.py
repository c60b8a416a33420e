"""Helpers for tests that need mail: a local SMTP server (aiosmtpd) and settings that use it.

Fixtures stay in each test module (named there, so a test's parameters say where they come
from); these are the pieces they are built from, shared with test_notify's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiosmtpd.controller import Controller
from conftest import make_settings
from test_notify import MODERATORS, Mailbox, free_port

from comments_service.config import Settings


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A running local SMTP server: what it received, and its port."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def mail_settings(tmp_path: Path, port: int, **overrides: object) -> Settings:
    """Test settings sending mail to the local server; the mail worker is left to the test."""
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1", "smtp_port": port, "moderator_emails": MODERATORS,
        "notify_interval_seconds": 0, "mail_from": "comments@articles.example.org",
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)
