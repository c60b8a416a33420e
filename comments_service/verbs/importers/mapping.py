"""The operator's mapping files: old threads -> article ids, old accounts -> staff accounts.

Either file is CSV (a header row naming the columns) or YAML (a mapping of source to
target, or a list of mappings with the column names as keys). Every problem names the
file, the line and the field, so a long mapping can be fixed in one pass.

Article mapping columns: ``source`` (an old URL, a path starting with "/", a slug, a
post id or a Disqus identifier) and ``article`` (our article id).

Staff mapping columns: ``source`` (a WordPress user id or login, a Disqus username, an
Isso author name), ``staff`` (our staff account's username) and, optional except for
Isso, ``email``: the address the source comment must also carry to count as staff.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .records import ImportSourceError

CSV_SUFFIXES = (".csv",)
YAML_SUFFIXES = (".yaml", ".yml")


class MappingError(ImportSourceError):
    """A mapping file the import cannot use, with its line and field when known."""


@dataclass(frozen=True)
class ArticleEntry:
    """One line of an article mapping."""

    source: str
    article_id: str
    line: int


@dataclass(frozen=True)
class StaffEntry:
    """One line of a staff mapping; ``email`` is "" when the line gives none."""

    source: str
    staff: str
    email: str
    line: int


def read_article_mapping(path: Path, known_ids: Iterable[str]) -> list[ArticleEntry]:
    """The article mapping's lines, each checked against the articles in docs/."""
    known = set(known_ids)
    entries: list[ArticleEntry] = []
    seen: dict[str, ArticleEntry] = {}
    for line, row in _rows(path, required=("source", "article"), optional=(),
                           value_column="article"):
        source, article_id = row["source"], row["article"]
        if article_id not in known:
            raise MappingError(path, f"article: there is no article with id '{article_id}' "
                               "in the docs folder", line)
        previous = seen.get(source)
        if previous is not None and previous.article_id != article_id:
            raise MappingError(path, f"source: '{source}' is already mapped to "
                               f"'{previous.article_id}' on line {previous.line}", line)
        entry = ArticleEntry(source, article_id, line)
        seen[source] = entry
        entries.append(entry)
    return entries


def read_staff_mapping(path: Path, source_system: str) -> list[StaffEntry]:
    """The staff mapping's lines. Staff accounts are checked by the import itself."""
    entries: list[StaffEntry] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, required=("source", "staff"), optional=("email",),
                           value_column="staff"):
        email = row.get("email", "").strip().lower()
        if source_system == "isso" and not email:
            # Isso has no accounts: anyone can type a staff member's name, and a reply
            # mapped by name alone would wear the staff badge.
            raise MappingError(path, "email: Isso comments have no accounts, so each line "
                               "needs the email address the staff member used too", line)
        key = f"{row['source']}\x1f{email}"
        if key in seen:
            raise MappingError(path, f"source: '{row['source']}' is already mapped on line "
                               f"{seen[key]}", line)
        seen[key] = line
        entries.append(StaffEntry(row["source"], row["staff"].strip().lower(), email, line))
    return entries


def _rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...],
          value_column: str) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for every entry, blank values refused."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError(path, "no such file") from None
    except UnicodeDecodeError as exc:
        raise MappingError(path, f"is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise MappingError(path, f"cannot be read: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        rows = _csv_rows(path, text, required, optional)
    elif suffix in YAML_SUFFIXES:
        rows = _yaml_rows(path, text, required, optional, value_column)
    else:
        raise MappingError(path, "use a .csv, .yaml or .yml file, so its format is known")
    for line, row in rows:
        for column in required:
            if not row.get(column, "").strip():
                raise MappingError(path, f"{column}: must not be empty", line)
    return [(line, {k: v.strip() for k, v in row.items()}) for line, row in rows]


def _csv_rows(path: Path, text: str, required: tuple[str, ...],
              optional: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(text.splitlines())
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not record or not "".join(record).strip() or record[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                missing = [c for c in required if c not in header]
                if missing:
                    raise MappingError(path, f"the header row must name the columns "
                                       f"{', '.join(required)} (missing: {', '.join(missing)})",
                                       line)
                unknown = [c for c in header if c not in required + optional]
                if unknown:
                    raise MappingError(path, f"{unknown[0]}: not a column of this mapping "
                                       f"(known: {', '.join(required + optional)})", line)
                continue
            if len(record) > len(header):
                raise MappingError(path, f"has {len(record)} fields where the header names "
                                   f"{len(header)}", line)
            rows.append((line, dict(zip(header, record, strict=False))))
    except csv.Error as exc:
        raise MappingError(path, f"is not valid CSV: {exc}", reader.line_num) from None
    if header is None:
        raise MappingError(path, f"is empty; it needs a header row ({','.join(required)}) "
                           "and one line per entry")
    return rows


def _yaml_rows(path: Path, text: str, required: tuple[str, ...], optional: tuple[str, ...],
               value_column: str) -> list[tuple[int, dict[str, str]]]:
    try:
        # Nodes, not loaded values: they keep line numbers, and "077" stays text.
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise MappingError(path, f"is not valid YAML: {getattr(exc, 'problem', None) or exc}",
                           mark.line + 1 if mark is not None else None) from None
    if root is None:
        raise MappingError(path, "is empty")
    rows: list[tuple[int, dict[str, str]]] = []
    if isinstance(root, yaml.MappingNode):
        # source: target   or   source: {column: value, ...}
        for key, value in root.value:
            line = key.start_mark.line + 1
            row = {"source": _scalar(path, key, "source")}
            if isinstance(value, yaml.MappingNode):
                row.update(_columns(path, value, required, optional, skip="source"))
            else:
                row[value_column] = _scalar(path, value, value_column)
            rows.append((line, row))
    elif isinstance(root, yaml.SequenceNode):
        for item in root.value:
            if not isinstance(item, yaml.MappingNode):
                raise MappingError(path, f"each list item must be a mapping with "
                                   f"{', '.join(required)}", item.start_mark.line + 1)
            rows.append((item.start_mark.line + 1,
                         _columns(path, item, required, optional, skip="")))
    else:
        raise MappingError(path, f"must be a mapping of source to {value_column}, or a list",
                           root.start_mark.line + 1)
    return rows


def _columns(path: Path, node: yaml.MappingNode, required: tuple[str, ...],
             optional: tuple[str, ...], skip: str) -> dict[str, str]:
    row: dict[str, str] = {}
    for key, value in node.value:
        name = _scalar(path, key, "column").lower()
        if name == skip or name not in required + optional:
            raise MappingError(path, f"{name}: not a column of this mapping (known: "
                               f"{', '.join(c for c in required + optional if c != skip)})",
                               key.start_mark.line + 1)
        row[name] = _scalar(path, value, name)
    return row


def _scalar(path: Path, node: yaml.Node, field: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise MappingError(path, f"{field}: must be a single value", node.start_mark.line + 1)
    return str(node.value)
