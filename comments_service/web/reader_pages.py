"""The look the service's no-JavaScript reader pages share: the site's name, home, terms
link and stylesheet.

The form, reply, report and thread pages are the service's, so they cannot count on the
site's Material stylesheet (its name changes with each theme release, and the site may be
on another host). reader.css repeats the site's palette and typography; it is served from
the service's own origin, which the pages' Content-Security-Policy allows as 'self'
(forms.form_page_csp). The header and footer markup is templates/_reader_header.html and
_reader_footer.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from fastapi import APIRouter
from fastapi.responses import FileResponse

from comments_service.config import Settings

STYLESHEET = Path(__file__).resolve().parent / "static" / "reader.css"
# Under /comments/ so the reverse proxy that passes the form already passes it (README,
# "One host behind a reverse proxy"); three segments, so no thread or reply route matches.
STYLESHEET_PATH = "/comments/static/reader.css"
# The site's terms of use, where the plugin's terms_url (mkdocs.yml) puts them.
TERMS_PATH = "terms/"

router = APIRouter()


def page_context(settings: Settings) -> dict[str, Any]:
    """Template variables for _reader_header.html and _reader_footer.html."""
    return {
        "site_name": settings.site_name,
        "home_url": settings.site_url,
        "terms_url": urljoin(settings.site_url, TERMS_PATH),
        "reader_css": STYLESHEET_PATH,
    }


@router.get(STYLESHEET_PATH, include_in_schema=False)
def stylesheet() -> FileResponse:
    """The reader pages' stylesheet (cached an hour, like the staff stylesheet)."""
    return FileResponse(STYLESHEET, media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})
