"""The on-call alert: an urgent comment posted outside staffed hours mails one address at once.

Separate from the moderator mails (the urgent alert and the digest): whoever is on call
gets one mail per such comment, holding only a link into the staff queue, never the
comment's text, its author's name or email, or an IP address.
"""

from __future__ import annotations

from datetime import datetime

from comments_service import i18n
from comments_service.config import Settings
from comments_service.verbs import staffed_hours

KIND_ONCALL = "oncall_urgent"


def alert_for(settings: Settings, comment_id: int, posted_at: datetime,
              queue_link: str) -> tuple[str, str] | None:
    """Subject and body of the on-call mail for an urgent comment, or None when not due.

    Due when an on-call address is set and the comment was posted (``posted_at``, the
    clock that counts) outside the staffed hours.
    """
    if not settings.oncall_email:
        return None
    schedule = staffed_hours.from_settings(settings)
    if schedule.is_staffed(posted_at):
        return None
    upcoming = schedule.next_staffed(posted_at)
    t = i18n.Translator(i18n.resolve(settings.language, settings.site_dir))
    back = ("\n\n" + t.gettext("The team is next staffed %(when)s.",
                                when=schedule.describe(upcoming))) if upcoming else ""
    return (
        t.gettext("On call: urgent comment outside staffed hours (#%(id)s)", id=comment_id),
        t.gettext("A comment flagged as urgent was posted outside staffed hours and is waiting "
                  "for moderation. Please look at it now:\n%(link)s\n\nYou will be asked to "
                  "sign in.", link=queue_link) + back,
    )
