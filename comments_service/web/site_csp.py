"""The Content-Security-Policy for a built MkDocs page, allowing its own inline code by hash.

Material for MkDocs puts small scripts inline (the palette and scope set-up, our
search-on-demand loader) and the site's styles in ``<style>`` blocks. Rather than
``'unsafe-inline'``, which would let any injected script run, each page's policy lists the
SHA-256 of exactly the inline scripts and styles that page carries. Data blocks (JSON,
JSON-LD) are not executed, so they need no hash. Everything else must come from the
same origin; nothing may frame the page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

_SCRIPT_RE = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.I)
_STYLE_RE = re.compile(r"<style[^>]*>(?P<body>.*?)</style>", re.DOTALL | re.I)
_DATA_TYPE_RE = re.compile(r"""type\s*=\s*["']?application/(?:ld\+)?json""", re.I)


def _hash(code: str) -> str:
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def page_csp(html: str) -> str:
    """The policy for one page's HTML."""
    scripts = sorted({_hash(m.group("body")) for m in _SCRIPT_RE.finditer(html)
                      if m.group("body") and "src=" not in m.group("attrs")
                      and not _DATA_TYPE_RE.search(m.group("attrs"))})
    styles = sorted({_hash(m.group("body")) for m in _STYLE_RE.finditer(html)})
    return "; ".join((
        "default-src 'self'",
        " ".join(["script-src 'self'", *scripts]),
        " ".join(["style-src 'self'", *styles]),
        # Material's icons are data: SVGs in its stylesheet.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
    ))


def file_csp(path: Path) -> str:
    """page_csp for a built file, remembered until the file changes (re-bakes rewrite it)."""
    stat = path.stat()
    return _file_csp(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=512)
def _file_csp(path: str, _mtime_ns: int, _size: int) -> str:
    return page_csp(Path(path).read_text(encoding="utf-8", errors="replace"))
