"""Helpers for the import tests: the fixture exports, the Isso database, a docs folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "imports"
WXR_11 = DATA / "wordpress-1.1.xml"
WXR_12 = DATA / "wordpress-1.2.xml"
DISQUS = DATA / "disqus.xml"

# The articles the fixture exports' threads should land on (see write_import_docs).
WORRY = "coping-with-worry"
SLEEP = "sleep-and-mood"
GP = "gp-conversations"
GRIEF = "grief-first-year"

_ARTICLE = """---
title: "{title}"
description: "A fictional article for the import tests."
id: {id}
updated: 2026-11-01
comments: open
---

# {title}

Body text.
"""


def build_isso(target: Path) -> Path:
    """The fictional Isso database (tests/data/imports/isso_db.py) written to ``target``."""
    spec = importlib.util.spec_from_file_location("isso_db", DATA / "isso_db.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(target)


def write_import_docs(docs_dir: Path) -> Path:
    """A docs folder whose articles the fixture threads match, one way each.

    coping-with-worry.md: by slug (WordPress) and by URL path (Disqus, Isso);
    guides/sleep-and-mood.md: by URL path only (its WordPress slug differs);
    talking-to-a-gp.md, id gp-conversations: by URL path (WXR 1.1);
    grief.md, id grief-first-year: only through a mapping file (WordPress post 77).
    """
    for rel, article_id, title in (
        ("coping-with-worry.md", WORRY, "Coping with worry"),
        ("guides/sleep-and-mood.md", SLEEP, "Sleep and mood"),
        ("talking-to-a-gp.md", GP, "Talking to your GP"),
        ("grief.md", GRIEF, "Grief in the first year"),
    ):
        path = docs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_ARTICLE.format(title=title, id=article_id), encoding="utf-8")
    return docs_dir
