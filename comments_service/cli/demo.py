"""demo-seed: a fictional sample thread and a staff account, so a fresh checkout shows it all."""

from __future__ import annotations

import argparse
import secrets
import sys

from comments_service.articles.catalog import Catalog
from comments_service.config import Settings
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import Comment, StaffRole
from comments_service.verbs.accounts import create_staff, get_staff
from comments_service.verbs.comments import submit
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.moderation import Actor, Moderation

ARTICLE_ID = "therapeutic-impasse"
STAFF_USERNAME = "editor"

# Invented readers and an invented staff member; no real person's words.
READER_COMMENTS = [
    (
        "Maren",
        "maren@example.com",
        "Thank you for writing this. My therapist, her supervisor and I have been stuck "
        "for weeks, and we are now talking about whether therapy should end. Reading that an "
        "impasse is nobody's fault, and that it can be worked through, helped me a lot.",
    ),
    (
        "Tomasz",
        "tomasz@example.com",
        "My wife and I saw the same therapist together for years. Now the sessions are just "
        "with her and I have been left out. I am struggling and I do not know where to "
        "find help for myself.",
    ),
]
STAFF_REPLY = (
    "Hi Tomasz, I am sorry you are struggling right now. You deserve support of your own. "
    "A therapist directory lets you search by your city or postal code for someone who "
    "sees individual clients. If you need to talk to someone sooner, our office is open "
    "Monday to Friday, 9am to 5pm, and you can call our help line on 555-0100 during those "
    "hours. If you are ever in danger, please call your local emergency number."
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo-seed",
        help="add the fictional sample thread and an 'editor' staff account (development only)",
    )
    parser.set_defaults(handler=demo_seed)


def demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    if settings.mode != "development":
        print("demo-seed: refused in production mode (it adds sample data)", file=sys.stderr)
        return 2
    database = Database(settings)
    try:
        upgrade(database)
        keyring = Keyring(settings.secret())
        with database.read() as session:
            staff = get_staff(session, STAFF_USERNAME)
            seeded = session.query(Comment).filter(Comment.article_id == ARTICLE_ID).count()
        if staff is None:
            password = secrets.token_urlsafe(12)
            staff = create_staff(
                database, STAFF_USERNAME, password, display_name="Robin Ellis",
                signature="Robin, on behalf of the Open Minds Library team",
                role=StaffRole.ADMIN,
            )
            print(f"Staff sign-in at /staff/: user '{STAFF_USERNAME}', password '{password}'")
            print("  (shown once; change it with: comments-service staff set-password editor)")
        if seeded:
            print(f"demo-seed: '{ARTICLE_ID}' already has comments; left as they are")
            return 0
        catalog = Catalog(settings.docs_dir)
        if catalog.get(ARTICLE_ID) is None:
            print(f"demo-seed: no article '{ARTICLE_ID}' under {settings.docs_dir}",
                  file=sys.stderr)
            return 1
        moderation = Moderation(database, keyring, catalog)
        actor = Actor.staff(staff)
        ids = []
        for number, (author, email, body) in enumerate(READER_COMMENTS, start=1):
            result = submit(
                database, settings, keyring, catalog, ARTICLE_ID,
                {"author": author, "email": email, "body": body, "accept_terms": True},
                # Documentation addresses (RFC 5737), so the demo never uses a real reader's.
                client_ip=f"192.0.2.{number}",
            )
            assert result.id is not None
            moderation.approve(result.id, actor)
            ids.append(result.id)
        moderation.reply_as_staff(ids[1], staff.id, STAFF_REPLY)
        print(f"demo-seed: added {len(ids)} approved reader comments and a staff reply "
              f"to '{ARTICLE_ID}'")
        return 0
    finally:
        database.dispose()
