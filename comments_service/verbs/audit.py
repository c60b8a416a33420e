"""Who acts and what they did: the actor of a staff verb, its errors, and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.store.database import Database
from comments_service.store.ids import MAX_ID, storable_id
from comments_service.store.models import AuditEntry, StaffRole, StaffUser, utcnow

PAGE_SIZE = 50
# No listing can have more pages than there can be ids; past this, OFFSET would overflow.
MAX_PAGE = MAX_ID // PAGE_SIZE + 1


class ModerationError(i18n.Refusal):
    """A refused moderation request; ``field`` names the input at fault. The message is an
    N_() id with %(name)s values (i18n.Refusal): text() is what a staff page shows."""


class NotFound(LookupError):
    """No comment, template or staff account with the given id."""


@dataclass(frozen=True)
class Actor:
    """Who performs a verb: a signed-in staff account or an operator at the command line."""

    label: str
    staff_user_id: int | None = None
    is_admin: bool = False

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(label=user.username, staff_user_id=user.id,
                   is_admin=user.role == StaffRole.ADMIN)

    @classmethod
    def operator(cls, name: str) -> Actor:
        """Someone with shell access to the server, trusted like an admin."""
        return cls(label=f"cli:{name}", is_admin=True)


class AuditLog:
    """The audit log's verbs, mixed into Moderation (which provides ``database``)."""

    database: Database

    def audit(self, comment_id: int | None = None, page: int = 1) -> tuple[list[AuditEntry], int]:
        """Audit entries newest first (optionally for one comment), and their total count.

        A page past MAX_PAGE, or an id no comment can have, is simply empty.
        """
        if not 1 <= page <= MAX_PAGE or (comment_id is not None
                                         and not storable_id(comment_id)):
            return [], 0
        conditions = [AuditEntry.comment_id == comment_id] if comment_id is not None else []
        with self.database.read() as session:
            total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
            entries = list(session.scalars(
                select(AuditEntry).where(*conditions)
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        return entries, total or 0

    @staticmethod
    def _audit(session: Session, actor: Actor, action: str, comment_id: int | None,
               before: str, after: str, when: datetime | None = None) -> None:
        session.add(AuditEntry(
            comment_id=comment_id, staff_user_id=actor.staff_user_id, actor=actor.label,
            action=action, before=before, after=after, created_at=when or utcnow()))

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise PermissionError("only admins can do this")
