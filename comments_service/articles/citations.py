"""Citations: one APA-like style for every reference an article lists."""

from __future__ import annotations

from markupsafe import Markup, escape

from comments_service.articles.article import Article, Reference


def format_authors(authors: tuple[str, ...]) -> str:
    """APA joins two names with ", &" and lists up to 20 before the last with commas."""
    if not authors:
        return ""
    if len(authors) == 1:
        return authors[0]
    if len(authors) == 2:
        return f"{authors[0]}, & {authors[1]}"
    return ", ".join(authors[:-1]) + f", & {authors[-1]}"


def _sentence(text: str) -> str:
    """End with a full stop unless the text already ends with punctuation."""
    text = text.strip()
    return text if text[-1:] in ".?!" else text + "."


def format_reference(ref: Reference) -> Markup:
    """The reference as safe HTML: authors, (year), title, container, locator, link."""
    parts: list[Markup] = []
    authors = format_authors(ref.authors)
    if authors:
        parts.append(escape(_sentence(authors)))
    parts.append(escape(f"({ref.year})."))
    if ref.type == "book":
        parts.append(Markup("<cite>{}</cite>").format(_sentence(ref.title)))
    else:
        parts.append(escape(_sentence(ref.title)))
    if ref.container:
        if ref.type == "chapter":
            tail = escape(_sentence(ref.publisher)) if ref.publisher else Markup("")
            parts.append(Markup("In <cite>{}</cite>.").format(ref.container))
            if tail:
                parts.append(tail)
        else:
            locator = Markup("<cite>{}</cite>").format(ref.container)
            if ref.volume:
                locator += Markup(", <i>{}</i>").format(ref.volume)
                if ref.issue:
                    locator += escape(f"({ref.issue})")
            elif ref.issue:
                locator += escape(f", ({ref.issue})")
            if ref.pages:
                locator += escape(f", {ref.pages}")
            parts.append(locator + Markup("."))
    elif ref.publisher:
        parts.append(escape(_sentence(ref.publisher)))
    if ref.retrieved:
        parts.append(escape(_sentence(ref.retrieved)))
    link = ref.link
    if link:
        parts.append(Markup('<a href="{0}">{0}</a>').format(link))
    return Markup(" ").join(parts)


_SCHEMA_TYPES = {
    "article": "Article",
    "chapter": "Chapter",
    "book": "Book",
    "web": "WebPage",
}


def reference_jsonld(ref: Reference) -> dict[str, object]:
    """The reference as a schema.org CreativeWork for an article's JSON-LD ``citation``."""
    data: dict[str, object] = {
        "@type": _SCHEMA_TYPES.get(ref.type, "CreativeWork"),
        "name": ref.title,
        "author": [{"@type": "Person", "name": name} for name in ref.authors],
    }
    if ref.year != "n.d.":
        data["datePublished"] = ref.year[:4]
    if ref.container:
        container_type = "Book" if ref.type == "chapter" else "Periodical"
        data["isPartOf"] = {"@type": container_type, "name": ref.container}
    if ref.volume:
        data["volumeNumber"] = ref.volume
    if ref.issue:
        data["issueNumber"] = ref.issue
    if ref.pages:
        data["pagination"] = ref.pages
    if ref.publisher:
        data["publisher"] = {"@type": "Organization", "name": ref.publisher}
    if ref.doi:
        data["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": ref.doi}
    if ref.link:
        data["url"] = ref.link
    return data


def article_jsonld(article: Article, canonical_url: str | None = None) -> dict[str, object]:
    """schema.org Article data for a page: headline, description, dateModified, citations.

    Templates pass the result through ``tojson``, which escapes it for a script element.
    """
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "description": article.description,
        "dateModified": article.updated.isoformat(),
        "citation": [reference_jsonld(ref) for ref in article.references],
    }
    if article.tags:
        data["keywords"] = list(article.tags)
    if canonical_url:
        data["url"] = canonical_url
        data["mainEntityOfPage"] = canonical_url
    return data
