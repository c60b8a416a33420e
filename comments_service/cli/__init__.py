"""The comments-service command: one subcommand module per area."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from comments_service.config import Settings

# Each area module exposes register(subparsers); the handler it sets receives
# (args, settings) and returns an exit code.
Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every area's subcommands."""
    from . import (
        archive,
        blocking,
        demo,
        importing,
        moderation,
        page,
        pause,
        privacy,
        service,
        site,
        staff,
    )

    parser = argparse.ArgumentParser(
        prog="comments-service",
        description="Articles site tools and the moderated comments service.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (site, service, staff, moderation, pause, privacy, archive, importing, page,
                   demo, blocking):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the comments-service command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's ValidationError names the variable
        print(f"comments-service: bad configuration: {exc}", file=sys.stderr)
        return 2
    handler: Handler = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
