"""The outcome mail: a kind note to a reader whose comment was not published.

Only the wording lives here; ``notifications`` decides whether the reader gets it (the same
opt-in with a confirmed address as every commenter mail) and queues it. Spam never earns
one. The reasons are a fixed list, so staff choose words written with care in advance
rather than typing something hurried to someone who may be struggling.
"""

from __future__ import annotations

from comments_service import i18n
from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.verbs.audit import ModerationError

# key -> (what staff see in the menu, the sentence the reader gets)
REJECTION_REASONS: dict[str, tuple[str, str]] = {
    "personal_details": (
        N_("Shares personal details"),
        N_("It includes details that could identify you or someone else, and we keep those "
           "off the public page to protect everyone."),
    ),
    "better_privately": (
        N_("Better answered privately"),
        N_("It shares something personal that we felt deserved a private answer rather than "
           "a public page."),
    ),
    "medical_advice": (
        N_("Asks for or gives individual medical advice"),
        N_("It asks for or gives advice about one person's treatment, which we cannot do "
           "safely in public comments. A doctor or therapist who knows you can."),
    ),
    "off_topic": (
        N_("Not about the article"),
        N_("It is not about the article, and we keep each article's comments to its subject."),
    ),
    "could_hurt_others": (
        N_("Could hurt other readers"),
        N_("Parts of it could be hurtful to other readers, and we keep the comments a safe "
           "place for everyone."),
    ),
}


def reason_error(reason: str) -> ModerationError | None:
    """Why a reason key is refused, or None when it is empty (no reason) or known."""
    if not reason or reason in REJECTION_REASONS:
        return None
    return ModerationError("reason", N_("must be one of %(choices)s (or empty)"),
                           choices=", ".join(REJECTION_REASONS))


def reason_label(reason: str) -> str:
    """The staff-facing label of a reason key ("" for none)."""
    return REJECTION_REASONS[reason][0] if reason in REJECTION_REASONS else ""


def _resource_lines(settings: Settings) -> list[str]:
    # The configurable list comes from a change made beside this one; without it (or with
    # a list that does not load) the crisis message alone still says where to get help.
    try:
        from comments_service.verbs import crisis_resources
    except ImportError:
        return []
    try:
        resources = crisis_resources.resources_for(settings)
    except ValueError:
        return []
    lines = []
    for resource in resources:
        ways = [f"phone {resource.phone}" if resource.phone else "",
                f"text {resource.text}" if resource.text else "", resource.web]
        detail = "; ".join(w for w in ways if w)
        line = f"- {resource.name}" + (f": {detail}" if detail else "")
        if resource.hours:
            line += f" ({resource.hours})"
        if resource.note:
            line += f". {resource.note}"
        lines.append(line)
    return lines


def rejection_note(settings: Settings, author: str, title: str, reason: str,
                   withdraw_link: str) -> tuple[str, str]:
    """The subject and text of the mail telling a reader their comment is not published."""
    t = i18n.Translator(i18n.resolve(settings.language, settings.site_dir))
    why = t.gettext(REJECTION_REASONS[reason][1]) if reason in REJECTION_REASONS else ""
    support = "\n".join([t.gettext(settings.crisis_message), *_resource_lines(settings)])
    body = (
        t.gettext("Hello %(author)s,\n\nthank you for taking the time to write about "
                  "\u201c%(title)s\u201d. We read every comment with care, and we have "
                  "decided not to publish yours.", author=author, title=title) + "\n\n"
        + (f"{why}\n\n" if why else "")
        + t.gettext("This is not a judgement of you or of what you are going through. If any "
                    "of it weighs on you, you do not have to wait for us or carry it alone:")
        + f"\n\n{support}\n\n"
        + t.gettext("Your comment will not appear on the site. If you would like to withdraw "
                    "it altogether, you can do so here at any time:\n%(link)s\n\n"
                    "With our best wishes,\nThe editorial team", link=withdraw_link)
    )
    return t.gettext("About your comment on %(title)s", title=title), body
