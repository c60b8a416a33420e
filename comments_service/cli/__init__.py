"""The comments-service command: one subcommand module per area."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..config import Settings

# Each area module exposes register(subparsers); the handler it sets receives
# (args, settings) and returns an exit code.
Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comments-service",
        description="Articles site tools and the moderated comments service.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _area_modules():
        module.register(subparsers)
    return parser


def _area_modules() -> list:  # type: ignore[type-arg]
    import importlib  # noqa: PLC0415

    modules = []
    for name in ("site", "service", "staff", "moderation", "privacy", "page"):
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return modules


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
