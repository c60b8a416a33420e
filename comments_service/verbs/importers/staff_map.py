"""Recognising staff replies in an export through the operator's staff mapping.

A source comment is a staff reply only when the mapping names its account: a WordPress
user id or login (only for comments WordPress recorded as written by a signed-in user),
a Disqus username (never for guest posts), or, since Isso has no accounts, an Isso
author name together with the email address the comment carries.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.store.models import StaffUser

from .mapping import MappingError, StaffEntry
from .records import ImportedComment


class StaffMap:
    """Source accounts -> our staff accounts, checked against the staff table."""

    def __init__(self, source_system: str,
                 accounts: dict[str, list[tuple[str, StaffUser]]] | None = None) -> None:
        self.source_system = source_system
        # source key -> [(required email or "", account)]
        self._accounts = accounts or {}

    @classmethod
    def load(cls, session: Session, source_system: str, entries: list[StaffEntry],
             path: Path) -> StaffMap:
        """The mapping with every line's staff account looked up; MappingError if unknown.

        Disabled accounts are accepted: replies written years ago by someone who has since
        left still carry their name and signature.
        """
        wanted = {entry.staff for entry in entries}
        users = {user.username: user for user in session.scalars(
            select(StaffUser).where(StaffUser.username.in_(wanted)))} if wanted else {}
        accounts: dict[str, list[tuple[str, StaffUser]]] = defaultdict(list)
        for entry in entries:
            user = users.get(entry.staff)
            if user is None:
                raise MappingError(path, f"staff: there is no staff account named "
                                   f"'{entry.staff}' (see: comments-service staff list)",
                                   entry.line)
            accounts[entry.source].append((entry.email, user))
        return cls(source_system, dict(accounts))

    @property
    def empty(self) -> bool:
        return not self._accounts

    def account_of(self, comment: ImportedComment) -> StaffUser | None:
        """The staff account that wrote this comment, or None for a reader's comment."""
        email = (comment.email or "").strip().lower()
        for key in self._keys(comment):
            for required_email, user in self._accounts.get(key, []):
                if not required_email or required_email == email:
                    return user
        return None

    def _keys(self, comment: ImportedComment) -> list[str]:
        if self.source_system == "wordpress":
            if not comment.source_user_id:
                return []  # a guest comment, whatever name it gives
            return [k for k in (comment.source_user_id, comment.source_username) if k]
        if self.source_system == "disqus":
            return [comment.source_username] if comment.source_username else []
        return [comment.author_name] if comment.author_name else []


def account_label(comment: ImportedComment) -> str:
    """How the report names a source account: "user 2 (rvale)"."""
    if comment.source_username:
        return f"user {comment.source_user_id} ({comment.source_username})"
    return f"user {comment.source_user_id}"
