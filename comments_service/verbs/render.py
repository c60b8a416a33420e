"""Comment text -> safe HTML, done once when a comment is written or edited, never on read."""

from __future__ import annotations

import html
import re

import nh3

LINK_REL = "nofollow ugc noopener"

# A bare http(s) address up to whitespace or a character that cannot start HTML-safe text.
URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that usually ends the sentence around a URL rather than the URL itself.
TRAILING_PUNCTUATION = ".,;:!?*'\""
PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*\n\s*")

_ALLOWED_TAGS = {"p", "br", "a"}
_ALLOWED_ATTRIBUTES = {"a": {"href"}}


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF, so paragraphs split the same whatever the reader's OS."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def find_urls(text: str) -> list[str]:
    """Every bare http(s) URL in the text, as render_comment would link it."""
    urls = (_trim_url(match.group(0))[0] for match in URL_RE.finditer(text))
    return [url for url in urls if url]


def render_comment(text: str) -> str:
    """Safe HTML for a comment's plain text.

    Text is escaped; blank lines separate paragraphs (<p>), single newlines become <br>,
    and bare http(s) URLs become links with rel="nofollow ugc noopener". The result goes
    through nh3 as a second line of defence, allowing only p, br and a[href].
    """
    text = normalize_newlines(text).strip()
    if not text:
        return ""
    paragraphs = [p.strip("\n") for p in PARAGRAPH_BREAK_RE.split(text)]
    parts = []
    for paragraph in paragraphs:
        if not paragraph.strip():
            continue
        lines = [_render_line(line) for line in paragraph.split("\n")]
        parts.append("<p>" + "<br>".join(lines) + "</p>")
    return nh3.clean(
        "".join(parts),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel=LINK_REL,
    )


def _render_line(line: str) -> str:
    out = []
    position = 0
    for match in URL_RE.finditer(line):
        url, rest = _trim_url(match.group(0))
        if not url:
            continue
        out.append(html.escape(line[position : match.start()]))
        escaped = html.escape(url)
        out.append(f'<a href="{escaped}" rel="{LINK_REL}">{escaped}</a>')
        out.append(html.escape(rest))
        position = match.end()
    out.append(html.escape(line[position:]))
    return "".join(out)


def _trim_url(candidate: str) -> tuple[str, str]:
    """Split sentence punctuation and an unbalanced closing bracket off the end of a URL."""
    url = candidate
    while url:
        last = url[-1]
        unbalanced = last == ")" and url.count("(") < url.count(")")
        if last in TRAILING_PUNCTUATION or unbalanced:
            url = url[:-1]
        else:
            break
    # "http://" alone is not a link worth making.
    if re.fullmatch(r"https?://", url, re.IGNORECASE):
        return "", candidate
    return url, candidate[len(url) :]
