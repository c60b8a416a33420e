"""The staff queue's text search: a comment's body or name containing the words, any case.

On SQLite a query of 3 or more characters asks the FTS5 trigram index that migration 0012
keeps (comments_search), so a search over a million comments reads only the rows that
match; shorter queries, which trigrams cannot index, scan as before. On PostgreSQL the
plain ``column ILIKE '%query%'`` is what the trigram GIN indexes of 0012 serve.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, column, or_, select, table

from comments_service.store.models import Comment

# Trigrams: anything shorter has nothing for the index to look up.
MIN_INDEXED_LENGTH = 3
_SEARCH = table("comments_search", column("rowid"))


def text_matches(dialect: str, query: str) -> ColumnElement[bool]:
    """A condition: the comment's body or author name contains ``query``, any case."""
    if dialect == "sqlite" and len(query) >= MIN_INDEXED_LENGTH:
        # One FTS5 phrase (double quotes doubled): the trigrams in a row, a substring.
        phrase = '"' + query.replace('"', '""') + '"'
        matching = select(_SEARCH.c.rowid).where(column("comments_search").match(phrase))
        return Comment.id.in_(matching)
    return or_(Comment.body.icontains(query, autoescape=True),
               Comment.author_name.icontains(query, autoescape=True))
