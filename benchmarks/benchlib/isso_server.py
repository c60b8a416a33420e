"""Isso 0.14.0 for the comparison: its settings, starting it, seeding and activating its thread."""

from __future__ import annotations

import json
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from . import corpus, procs
from .servers import ISSO_VERSION, Workspace, http

ISSO_CONF = """\
[general]
dbpath = {db}
host = {host}
notify = stdout
reply-notifications = false
gravatar = false
latest-enabled = false

[admin]
enabled = true
password = {password}

[moderation]
enabled = true

[server]
listen = http://127.0.0.1:{port}/
trusted-proxies = 127.0.0.1

[guard]
enabled = false

[markup]
renderer = mistune

[hash]
salt = {salt}
"""

ISSO_SETTINGS = ("Isso {version}, gunicorn -w 2 (sync workers) --preload, SQLite, "
                 "moderation on, guard (rate limit) off, mistune renderer, trusts 127.0.0.1 "
                 "as proxy")


def start_isso(ws: Workspace, isso_bin: Path, site_url: str) -> tuple[procs.Managed, int, str]:
    port = procs.free_port()
    password = secrets.token_urlsafe(16)
    folder = ws.root / "isso"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "isso.cfg"
    conf.write_text(ISSO_CONF.format(db=folder / "isso.db", host=site_url, password=password,
                                     port=port, salt=secrets.token_hex(12)))
    env = {**os.environ, "ISSO_SETTINGS": str(conf)}
    managed = ws.start("isso", [str(isso_bin / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2",
                                "--preload", "--log-level", "warning", "isso.run"],
                       env=env, cwd=folder,
                       settings=ISSO_SETTINGS.format(version=ISSO_VERSION))
    procs.wait_http(f"http://127.0.0.1:{port}/config", managed)
    procs.wait_workers(managed, 3)
    return managed, port, password


def isso_uri(article_id: str) -> str:
    return f"/{article_id}/"


def seed_isso(base: str, password: str, article_ids: list[str]) -> None:
    """Post through Isso's API (moderation on: held), then activate from its admin page."""
    thread = corpus.thread()

    def post(article_id: str, comment: corpus.SeedComment, parent: int | None) -> int:
        uri = urllib.parse.quote(isso_uri(article_id))
        status, _, body = http("POST", f"{base}/new?uri={uri}", {
            "text": comment.body, "author": comment.author, "email": comment.email,
            "website": None, "parent": parent, "title": f"Article {article_id}",
        })
        if status not in (201, 202):
            raise RuntimeError(f"seeding Isso: POST /new answered {status}: {body[:300]!r}")
        return int(json.loads(body)["id"])

    main_id = article_ids[0]
    top = [post(main_id, c, None) for c in thread if c.parent is None]
    for c in thread:
        if c.parent is not None:
            post(main_id, c, top[c.parent])
    for index, other in enumerate(article_ids[1:], start=2):
        for c in corpus.small_thread(index):
            post(other, c, None)
    activate_all_isso(base, password)


def activate_all_isso(base: str, password: str) -> int:
    """Sign in to Isso's admin and press "Validate" on every held comment, as a moderator."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    http("POST", f"{base}/login/", form={"password": password}, opener=opener)
    activated = 0
    for _ in range(100):  # bounded: 100 comments per admin page
        status, _, page = http("GET", f"{base}/admin/?mode=2&page=0", opener=opener)
        if status != 200:
            raise RuntimeError(f"Isso admin answered {status}")
        keys = re.findall(r"validate_com\((\d+), '([^']+)'", page.decode())
        if not keys:
            return activated
        for comment_id, key in keys:
            status, _, body = http("POST", f"{base}/id/{comment_id}/activate/{key}",
                                   opener=opener)
            if status != 200:
                raise RuntimeError(f"Isso activate {comment_id} answered {status}: {body!r}")
            activated += 1
    return activated
