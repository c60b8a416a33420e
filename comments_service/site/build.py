"""Building the site so that a failed build never leaves the served site empty or half done.

``mkdocs build`` empties its site folder before it writes, so a build that fails on a bad
front matter field leaves a host or the development service with nothing to serve. Here the
build goes into a fresh folder beside the site folder (same file system, so the swap is a
rename) and replaces the served folder only once it has succeeded.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

log = logging.getLogger("comments_service.build")


class SiteBuildFailed(Exception):
    """The build failed; the site folder being served was left exactly as it was."""


@dataclass(frozen=True)
class BuiltSite:
    """Where the new site went, and how many files it has."""

    site_dir: Path
    files: int


def build_site(config_file: Path, site_dir: Path | None = None,
               strict: bool = True) -> BuiltSite:
    """Build into a fresh folder, then swap it in for the site folder; SiteBuildFailed if not.

    ``site_dir`` defaults to the one mkdocs.yml names (relative to the config file).
    """
    config = load_config(config_file=str(config_file), strict=strict)
    target = Path(site_dir or config["site_dir"]).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f".{target.name}.building-{secrets.token_hex(4)}")
    config["site_dir"] = str(fresh)
    try:
        build(config)
    except (MkDocsException, OSError) as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise SiteBuildFailed(f"the build failed, and {target} was left as it was: "
                              f"{exc or type(exc).__name__}") from exc
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    swap_in(fresh, target)
    files = sum(1 for path in target.rglob("*") if path.is_file())
    return BuiltSite(target, files)


def swap_in(fresh: Path, target: Path) -> None:
    """Put ``fresh`` where ``target`` is, keeping the old folder until the new one is there.

    Two renames: readers may meet a missing folder for the instant between them, never an
    empty or half-written one.
    """
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
