"""Staff pages under /staff/: one module per screen, all on the router in ``common``."""

from comments_service.web.staff import audit, privacy, queue, reply_templates, signin
from comments_service.web.staff.common import SECURITY_HEADERS, router, templates

# Imported for their routes; the order is the order the routes are matched in.
SCREENS = (signin, queue, audit, reply_templates, privacy)

__all__ = ["SCREENS", "SECURITY_HEADERS", "router", "templates"]
