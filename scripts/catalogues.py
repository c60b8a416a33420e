"""Refresh the message catalogues from the source: extract, merge into every .po, report gaps.

    .venv/bin/python scripts/catalogues.py            # update locale/*/messages.po
    .venv/bin/python scripts/catalogues.py --add fr   # start a new language

English is filled with the message ids themselves (its catalogue is complete by
definition); other languages get new ids with an empty translation to write, and ids no
longer in the source are dropped. tests/test_translations.py fails while any is empty.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "comments_service" / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
            "npgettext": ((1, "c"), 2, 3), "N_": None, "Nn_": (1, 2)}


def template() -> Catalog:
    """Every message the Python files and templates use (babel.cfg says which files)."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    catalog = Catalog(project="comments-service")
    for _file, _lineno, message, comments, context in extract_from_dir(
            REPO, method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def translated(string: str | tuple[str, ...] | None) -> bool:
    """Whether a message (or every plural form of it) has a translation."""
    if isinstance(string, str):
        return bool(string)
    return bool(string) and all(string)


def update(language: str) -> int:
    """Merge the template into one language's catalogue; returns how many are untranslated."""
    # A fresh template each time: update() shares its message objects with the catalogue.
    source = template()
    po = LOCALE / language / "LC_MESSAGES" / "messages.po"
    if po.is_file():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    else:
        po.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, project="comments-service")
    catalog.update(source, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False  # the header: a fresh catalogue starts marked fuzzy
    missing = 0
    for message in catalog:
        if not message.id:
            continue
        if language == "en":
            message.string = message.id
        elif not translated(message.string):
            missing += 1
    with po.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, no_location=True,
                 width=100)
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", metavar="LANGUAGE", help="start a catalogue for LANGUAGE")
    args = parser.parse_args()
    count = len(template())
    languages = sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES").is_dir())
    if args.add and args.add not in languages:
        languages.append(args.add)
    status = 0
    for language in languages:
        missing = update(language)
        print(f"{language}: {count} messages, {missing} untranslated")
        status = status or (1 if missing else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
