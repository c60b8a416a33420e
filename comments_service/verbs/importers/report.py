"""What an import found and did, per article, and how it is printed.

The same report comes from a dry run and a real one, so the dry run's table is exactly
what the real run will then do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Notes: imported, but not quite as the source had it. Counted, printed after the table.
NOTE_PARENT_MISSING = "replies whose parent is not in the export, imported at the top level"
NOTE_PARENT_NOT_PUBLIC = ("published replies to an unpublished comment, moved under the nearest "
                          "published one above (or to the top level)")
NOTE_TOO_DEEP = "replies nested deeper than 3 levels, attached beside their parent"
NOTE_STAFF = "staff replies, signed with the mapped staff account"
NOTE_ACCOUNTS_AS_READERS = ("comments by signed-in source accounts not in the staff mapping, "
                            "imported as reader comments")
NOTE_TIME_ESTIMATED = "times estimated from local time (the export had no UTC time)"
NOTE_NAME_SHORTENED = "names shortened to 80 characters"
NOTE_NO_NAME = "comments without a name, shown as 'Anonymous'"
NOTE_URGENT = "comments flagged urgent"


@dataclass
class ArticleCounts:
    """One article's line of the table."""

    article_id: str
    found: int = 0
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class UnmatchedThread:
    """A thread of the export that no article took, and why."""

    label: str
    comments: int
    reason: str


@dataclass
class ImportReport:
    """Everything the import has to say; ``dry_run`` means nothing was stored."""

    source_system: str
    path: Path
    dry_run: bool
    articles: dict[str, ArticleCounts] = field(default_factory=dict)
    unmatched: list[UnmatchedThread] = field(default_factory=list)
    # Comments no thread or article can be charged with (their thread is missing).
    unplaced: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    # Source accounts (WordPress user id/login) whose comments went in as reader comments.
    unmapped_accounts: Counter[str] = field(default_factory=Counter)
    touched: list[str] = field(default_factory=list)  # articles whose public thread changed
    staff_mapping_given: bool = False
    baked_pages: int | None = None

    def article(self, article_id: str) -> ArticleCounts:
        return self.articles.setdefault(article_id, ArticleCounts(article_id))

    @property
    def imported(self) -> int:
        return sum(a.imported for a in self.articles.values())

    def render(self) -> str:
        """The report as text: a heading, the table, unmatched threads, notes."""
        verb = "would import" if self.dry_run else "imported"
        lines = [f"{self.source_system} export {self.path}: {verb} {self.imported} comment(s)"
                 + (" (dry run: nothing was changed)" if self.dry_run else "")]
        lines += ["", *self._table(), ""]
        if self.unmatched:
            count = sum(t.comments for t in self.unmatched)
            lines.append(f"{len(self.unmatched)} thread(s) match no article; their {count} "
                         "comment(s) were skipped (map them with --mapping):")
            lines += [f"  {t.label}: {t.comments} comment(s), {t.reason}" for t in self.unmatched]
            lines.append("")
        for reason, count in sorted(self.unplaced.items()):
            lines.append(f"{count} comment(s) skipped: {reason}")
        if self.unplaced:
            lines.append("")
        if self.notes:
            lines.append("Notes:")
            lines += [f"  {note}: {count}" for note, count in sorted(self.notes.items())]
        if self.unmapped_accounts:
            accounts = ", ".join(f"{name} ({n})" for name, n in sorted(
                self.unmapped_accounts.items()))
            lines.append(f"  signed-in source accounts without a staff mapping: {accounts}")
        if not self.staff_mapping_given and self.imported:
            lines.append("No --staff-mapping given: every comment was imported as a reader's "
                         "comment, staff replies included.")
        if self.baked_pages is not None:
            lines.append(f"Re-baked {self.baked_pages} page(s) in the site folder.")
        elif self.touched and not self.dry_run:
            lines.append(f"Queued the page(s) of {len(self.touched)} article(s) for re-baking "
                         "by the service.")
        return "\n".join(lines).rstrip() + "\n"

    def _table(self) -> list[str]:
        reasons = sorted({r for a in self.articles.values() for r in a.skipped})
        headers = ["article", "found", "imported", *(f"skipped: {r}" for r in reasons)]
        rows = [[a.article_id, str(a.found), str(a.imported),
                 *(str(a.skipped.get(r, 0)) for r in reasons)]
                for a in sorted(self.articles.values(), key=lambda a: a.article_id)]
        total = ["total", str(sum(a.found for a in self.articles.values())), str(self.imported),
                 *(str(sum(a.skipped.get(r, 0) for a in self.articles.values()))
                   for r in reasons)]
        if not rows:
            return ["(no thread of the export matched an article)"]
        widths = [max(len(row[i]) for row in [headers, *rows, total])
                  for i in range(len(headers))]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        rule = "  ".join("-" * w for w in widths)
        return [line(headers), rule, *(line(r) for r in rows), rule, line(total)]
