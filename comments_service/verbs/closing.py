"""Closed threads: whether an article takes comments now, and the words readers get.

Three things close a form: the article's front matter (``comments: closed``), its age (the
operator's ``close_after_days`` after the article's last update) and the site-wide
read-only switch (``read_only``). Unlike the crisis pause (verbs/pause.py), which is a
database row staff flip and shows the crisis resources, these come from the settings and
the docs, and readers get a neutral notice. Staff can still moderate in every case.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

from comments_service import i18n
from comments_service.articles.article import Article
from comments_service.config import Settings
from comments_service.i18n import N_

# Message ids: the bake shows them in the page's language.
CLOSED_NOTICE = N_("Comments are closed.")
READ_ONLY_NOTICE = N_("Comments are closed on the whole site for now. You can still read "
                      "every comment here.")


def closes_on(settings: Settings, article: Article) -> dt.date | None:
    """The first day the article no longer takes comments by age; None when age never closes it."""
    if settings.close_after_days <= 0:
        return None
    return article.updated + dt.timedelta(days=settings.close_after_days)


def refusal(settings: Settings, article: Article, today: dt.date | None = None) -> str | None:
    """Why a post to the article is refused now (a sentence for the reader), or None if open."""
    t = i18n.Translator(i18n.current())
    if article.comments != "open":
        return t.gettext(N_("Comments are %(state)s on this article."), state=article.comments)
    if settings.read_only:
        return t.gettext(N_("Comments are closed on the whole site for now, so your comment "
                            "was not sent."))
    closing = closes_on(settings, article)
    today = today or dt.datetime.now(dt.UTC).date()
    if closing is not None and today >= closing:
        # The pattern is a message too, so each catalogue words its dates ("05 March 2026").
        day = format_date(closing, t.gettext(N_("dd MMMM y")), locale=t.language)
        return t.ngettext("Comments on this article closed on %(day)s, %(num)d day after it "
                          "was last updated.",
                          "Comments on this article closed on %(day)s, %(num)d days after it "
                          "was last updated.", settings.close_after_days, day=day)
    return None


def page_notice(settings: Settings, article: Article | None,
                today: dt.date | None = None) -> str:
    """What a baked page shows in place of an open form ("" when the form stays).

    Front matter ``closed`` is left to the page template, which never draws the form.
    """
    if settings.read_only:
        return READ_ONLY_NOTICE
    if article is None or article.comments != "open":
        return ""
    return CLOSED_NOTICE if refusal(settings, article, today) else ""
