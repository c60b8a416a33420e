"""What the local spam classifier looks at in a comment: word, phrase, character and link features.

Pure functions, no database: the same text always gives the same features, so a decision
counted at one time can be taken back exactly later (spam_learning stores what it counted).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from comments_service.verbs.render import find_urls

MAX_FEATURE = 120
# Words longer than this are noise (hashes, base64); character grams still see them.
MAX_WORD = 30
CHAR_GRAM = 4

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
_BARE_WWW = re.compile(r"(?<![/\w.])www\.([^\s/]+\.[a-z]{2,})", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MONEY = re.compile(r"[$€£¥₹]\s?\d|\d\s?(?:usd|eur|gbp)\b|\b\d+% off\b", re.IGNORECASE)

# Features about the comment's shape, with the words staff read in the explanation.
META_LABELS = {
    "m:link": "a link",
    "m:links2": "several links",
    "m:links3": "many links",
    "m:caps": "mostly capital letters",
    "m:money": "prices or money",
    "m:email": "an email address in the text",
    "m:exclaim": "many exclamation marks",
    "m:short": "very short",
    "m:digits": "many digits",
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def link_domain(url: str) -> str:
    """The host of a link without "www.", lower-cased; "" when it has none."""
    host = (urlsplit(url if "//" in url else f"http://{url}").hostname or "").lower()
    return host.removeprefix("www.")


def extract(body: str, author: str = "") -> list[str]:
    """The sorted, distinct features of a comment (each at most MAX_FEATURE characters).

    ``w:`` words, ``b:`` two-word phrases, ``c:`` character 4-grams of each word (they
    catch spellings such as "v1agra" that words miss), ``u:`` the domains linked, ``a:``
    words of the author's name, and ``m:`` shape features (links, capitals, money...).
    """
    found: set[str] = set()
    urls = find_urls(body)
    domains = [link_domain(u) for u in urls] + [m.group(1).lower()
                                                 for m in _BARE_WWW.finditer(body)]
    for domain in domains:
        if domain:
            found.add(f"u:{domain}")
    links = len(domains)
    if links:
        found.add("m:link")
    if links >= 2:
        found.add("m:links2")
    if links >= 3:
        found.add("m:links3")
    text = body
    for url in urls:
        text = text.replace(url, " ")
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 12 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        found.add("m:caps")
    if _MONEY.search(text):
        found.add("m:money")
    if _EMAIL_IN_TEXT.search(text):
        found.add("m:email")
    if text.count("!") >= 3:
        found.add("m:exclaim")
    if sum(ch.isdigit() for ch in text) >= 8:
        found.add("m:digits")
    words = [w for w in _WORD.findall(_fold(text)) if len(w) <= MAX_WORD]
    if len(words) < 4:
        found.add("m:short")
    previous = ""
    for word in words:
        found.add(f"w:{word}")
        if previous:
            found.add(f"b:{previous} {word}")
        previous = word
        padded = f"<{word}>"
        if len(padded) > CHAR_GRAM:
            for start in range(len(padded) - CHAR_GRAM + 1):
                found.add(f"c:{padded[start:start + CHAR_GRAM]}")
    for word in _WORD.findall(_fold(author)):
        found.add(f"a:{word[:MAX_WORD]}")
    return sorted(f[:MAX_FEATURE] for f in found)


def describe(feature: str) -> str:
    """How staff read one feature in the queue's explanation; "" for character grams,
    which say little to a person."""
    kind, _, value = feature.partition(":")
    if kind in ("w", "b"):
        return f"'{value}'"
    if kind == "u":
        return f"'http://{value}…'"
    if kind == "a":
        return f"name '{value}'"
    if kind == "m":
        return META_LABELS.get(feature, value)
    return ""
