"""Saved reply templates: listed for every staff member, edited by admins, audited."""

from __future__ import annotations

from sqlalchemy import select

from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import ReplyTemplate, utcnow
from comments_service.verbs import comments, render
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound

MAX_TEMPLATE_NAME = 120
MAX_BODY_CHARS = comments.MAX_BODY

# Seeded by migration 0002 (with a general thank-you template); admins may edit it.
CRISIS_TEMPLATE_NAME = "Reader who may be in crisis"


class ReplyTemplates(AuditLog):
    """The template verbs, mixed into Moderation (which provides ``database``)."""

    database: Database

    def templates(self) -> list[ReplyTemplate]:
        """Saved reply templates by name (the defaults come from migration 0002)."""
        with self.database.read() as session:
            return list(session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.name)))

    def template(self, template_id: int) -> ReplyTemplate:
        """One template; raises NotFound."""
        with self.database.read() as session:
            found = (session.get(ReplyTemplate, template_id)
                     if storable_id(template_id) else None)
        if found is None:
            raise NotFound(f"no reply template with id {template_id}")
        return found

    def save_template(self, actor: Actor, name: str, body: str,
                      template_id: int | None = None) -> ReplyTemplate:
        """Create a template, or update one when template_id is given. Admins only."""
        self._require_admin(actor)
        name = " ".join(name.split())
        body = render.normalize_newlines(body).strip()
        if not name:
            raise ModerationError("name", N_("must not be blank"))
        if len(name) > MAX_TEMPLATE_NAME:
            raise ModerationError("name", N_("must be at most %(max)d characters"),
                                  max=MAX_TEMPLATE_NAME)
        if not body:
            raise ModerationError("body", N_("must not be blank"))
        if len(body) > MAX_BODY_CHARS:
            raise ModerationError("body", N_("must be at most %(max)d characters"),
                                  max=MAX_BODY_CHARS)
        with self.database.write() as session:
            clash = session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == name))
            if clash is not None and clash != template_id:
                raise ModerationError("name", N_("a template named '%(name)s' already exists"),
                                      name=name)
            if template_id is None:
                found = ReplyTemplate(name=name, body=body, updated_at=utcnow())
                session.add(found)
                self._audit(session, actor, "template_create", None, "", f"{name}\n\n{body}")
            else:
                found = (session.get(ReplyTemplate, template_id)
                         if storable_id(template_id) else None)
                if found is None:
                    raise NotFound(f"no reply template with id {template_id}")
                before = f"{found.name}\n\n{found.body}"
                found.name, found.body, found.updated_at = name, body, utcnow()
                self._audit(session, actor, "template_update", None, before,
                            f"{name}\n\n{body}")
            session.flush()
        return found

    def delete_template(self, actor: Actor, template_id: int) -> None:
        """Remove a template. Admins only."""
        self._require_admin(actor)
        with self.database.write() as session:
            found = (session.get(ReplyTemplate, template_id)
                     if storable_id(template_id) else None)
            if found is None:
                raise NotFound(f"no reply template with id {template_id}")
            self._audit(session, actor, "template_delete", None,
                        f"{found.name}\n\n{found.body}", "")
            session.delete(found)
