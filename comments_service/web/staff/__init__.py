"""Staff pages under /staff/: one module per screen, all on the router in ``common``."""

from comments_service.web.staff import (
    account,
    audit,
    blocklist,
    dashboard,
    mail,
    pause,
    privacy,
    queue,
    reader_care,
    reply_templates,
    reports,
    signin,
    spam,
    undo,
)
from comments_service.web.staff.common import SECURITY_HEADERS, router, templates

# Imported for their routes; the order is the order the routes are matched in.
SCREENS = (signin, queue, reader_care, audit, reply_templates, privacy, mail,
           pause, undo, account, dashboard,
           blocklist, spam, reports)

__all__ = ["SCREENS", "SECURITY_HEADERS", "router", "templates"]
