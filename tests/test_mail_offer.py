""""Email me when someone replies" is offered only when the service can send mail."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from service_support import OPEN, app_client, with_docs
from thread_support import seed_thread

from comments_service.config import Settings


@pytest.mark.parametrize(("smtp_host", "offered"), [("", False), ("127.0.0.1", True)])
def test_the_status_and_the_reply_form_say_whether_mail_can_be_sent(
        settings: Settings, tmp_path: Path, smtp_host: str, offered: bool) -> None:
    configured = with_docs(settings, tmp_path, smtp_host=smtp_host, notify_interval_seconds=0)
    with app_client(configured) as client:
        assert client.get("/api/status").json()["mail"] is offered
        (chain,) = seed_thread(client.app.state.database, OPEN, roots=1)
        form = BeautifulSoup(client.get(f"/comments/{OPEN}/reply/{chain[0]}").text,
                             "html.parser")
        assert (form.find(id="field-notify") is not None) is offered
