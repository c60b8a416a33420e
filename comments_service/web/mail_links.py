"""Public pages behind the links in our mail: confirm a subscription, unsubscribe, withdraw.

A GET only shows a page with a button: mail scanners follow links, and a followed link
must not change anything. The button POSTs; so do mail clients offering RFC 8058
one-click unsubscribe, which POST "List-Unsubscribe=One-Click" to the same URL. The signed
token in the link is the authority, so no sign-in is needed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from comments_service.i18n import N_
from comments_service.verbs import notifications, withdrawal
from comments_service.web.staff import SECURITY_HEADERS, templates

router = APIRouter(prefix="/mail", include_in_schema=False)

# Message ids (N_): mail_link.html shows them translated (| translate).
PAGES = {
    "confirm": {
        "title": N_("Confirm mail about your comments"),
        "ask": N_("Do you want mail when a comment you wrote with this address is published "
                  "or answered?"),
        "button": N_("Yes, send me these mails"),
        "done": N_("Thank you: you will get a mail when your comments are published or answered. "
                   "Every mail has a link to stop them."),
        "verb": notifications.confirm_subscription,
    },
    "unsubscribe": {
        "title": N_("Unsubscribe"),
        "ask": N_("Stop all mail from us to this address?"),
        "button": N_("Unsubscribe"),
        "done": N_("You are unsubscribed: we will send no more mail to this address."),
        "verb": notifications.unsubscribe,
    },
    "withdraw": {
        "title": N_("Withdraw your comment"),
        "ask": N_("Remove your comment from the site? It will no longer be shown to anyone, "
                  "and this cannot be undone from here."),
        "button": N_("Withdraw my comment"),
        "done": N_("Your comment is withdrawn: it is no longer shown on the site. The page "
                   "may take a few seconds to catch up."),
        "verb": withdrawal.withdraw,
    },
}


def _page(request: Request, kind: str, token: str, state: str,
          status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, "staff/mail_link.html", {
        "page": PAGES[kind], "kind": kind, "token": token, "state": state,
        "title": PAGES[kind]["title"], "me": None, "csrf_token": "", "is_admin": False,
        "public": True, "notice": "", "error": "",
    }, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _valid(request: Request, kind: str, token: str) -> bool:
    keyring = request.app.state.keyring
    if kind == "withdraw":
        # Signed per comment, not per address.
        return withdrawal.read_withdraw_token(keyring, token) is not None
    return notifications.read_token(keyring, kind, token) is not None


@router.get("/{kind}", response_class=HTMLResponse)
def show(request: Request, kind: str, token: str = "") -> Response:
    """The confirmation page with its button; changes nothing."""
    if kind not in PAGES:
        return Response("Not found", status_code=404, media_type="text/plain")
    if not _valid(request, kind, token):
        return _page(request, kind, "", "invalid", status_code=400)
    return _page(request, kind, token, "ask")


@router.post("/{kind}", response_class=HTMLResponse)
async def act(request: Request, kind: str) -> Response:
    """Do it: the page's button, or a mail client's one-click POST (token in the URL)."""
    if kind not in PAGES:
        return Response("Not found", status_code=404, media_type="text/plain")
    form = await request.form()
    token = request.query_params.get("token") or form.get("token")
    token = token if isinstance(token, str) else ""
    verb = PAGES[kind]["verb"]
    if not verb(request.app.state.database, request.app.state.keyring, token):  # type: ignore[operator]
        return _page(request, kind, "", "invalid", status_code=400)
    return _page(request, kind, "", "done")
