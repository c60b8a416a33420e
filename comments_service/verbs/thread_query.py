"""One page of a public thread read by the database's paging, for a cache miss.

thread_pages.page() cuts a page out of the whole thread; on a big thread that means
reading and serialising thousands of comments to answer fifty. This module answers the
same bytes from what the page holds: the page's top-level comments selected in order with
LIMIT, then their replies by parent (index ix_comments_parent), and the count from
article_counts.

"Top-level" is as public_threads.list_public has it: an approved comment with no parent,
or one whose every ancestor is unpublished (a reply to a rejected comment moves up to
the top). Those few are found from the article's unpublished top-level comments, which a
moderated thread holds few of. A page orders top-level comments by their public timestamp
(to the second) and id, so the rows read in (created_at, id) order with LIMIT are
extended by every other one in the same second as the last before being sorted and cut.

A reply's parent is a comment of the same article (posts and imports check it); a page,
like the whole thread, follows parents within the article only, but finds promoted
comments only under unpublished comments of the article. The recursive queries use
UNION, not UNION ALL, so even a loop of parents ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from comments_service.store.models import Comment, CommentStatus, StaffUser
from comments_service.verbs import public_threads, thread_pages

APPROVED = CommentStatus.APPROVED.value
UNPUBLISHED = [s.value for s in CommentStatus if s is not CommentStatus.APPROVED]
_SECOND = timedelta(seconds=1)
# Core tables, statements built once: building ORM statements per call cost more than
# running them.
_C = Comment.__table__
_STAFF = StaffUser.__table__
# A top-level comment's place: its timestamp to the second, then its id.
Key = tuple[datetime, int]


def page_document(session: Session, article_id: str,
                  request: thread_pages.PageRequest) -> dict[str, Any]:
    """The API's page document: {"article_id", "count", "order", "limit", "comments",
    "next_cursor"}, the same as paging the whole thread; KeyError for an ``around``
    comment not published on this article."""
    part = page(session, article_id, request)
    return {"article_id": article_id, "count": public_threads.count_public(session, article_id),
            "order": request.order, "limit": request.limit, **part}


def page(session: Session, article_id: str,
         request: thread_pages.PageRequest) -> dict[str, Any]:
    """{"comments": [...], "next_cursor": str | None}, as thread_pages.page() gives for
    the whole thread."""
    newest = request.order == "newest"
    after: Key | None = None
    if request.cursor is not None:
        after = _cursor_key(request.cursor)
        if after is None:
            # Not a real time (month 13, say): only the whole thread compares it as text.
            return thread_pages.page(public_threads.list_public(session, article_id), request)
    promoted = _promoted_roots(session, article_id)
    limit = request.limit
    if request.around is not None:
        root = _root_of(session, article_id, request.around)
        before = _count_roots(session, article_id, root, not newest)
        before += sum(1 for key in promoted if _follows(root, key, newest))
        limit = (before // request.limit + 1) * request.limit
    keys = _roots_after(session, article_id, after, newest, limit + 1)
    keys += [key for key in promoted if after is None or _follows(key, after, newest)]
    keys = sorted(set(keys), reverse=newest)
    chosen = keys[:limit]
    more = len(keys) > limit
    chains = thread_pages.groups(_subtrees(session, article_id, [k[1] for k in chosen]),
                                 request.order)
    return {
        "comments": [comment for chain in chains for comment in chain],
        "next_cursor": thread_pages.cursor_after(chains[-1]) if more and chains else None,
    }


def _key(created_at: datetime, comment_id: int) -> Key:
    return (created_at.astimezone(UTC).replace(microsecond=0), comment_id)


def _cursor_key(cursor: tuple[str, int]) -> Key | None:
    try:
        when = datetime.strptime(cursor[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (when, cursor[1])


def _follows(key: Key, mark: Key, newest: bool) -> bool:
    """Whether ``key`` comes after ``mark`` in the page order."""
    return key < mark if newest else key > mark


def _mark(mark: Key) -> dict[str, Any]:
    return {"second": mark[0], "second_end": mark[0] + _SECOND, "mark_id": mark[1]}


def _after_clause(newest: bool) -> ColumnElement[bool]:
    """Comments after the mark (second, mark_id) in the page order, in terms the
    created_at index serves."""
    second, end = bindparam("second", type_=_C.c.created_at.type), \
        bindparam("second_end", type_=_C.c.created_at.type)
    mark_id = bindparam("mark_id", type_=Integer)
    if newest:
        return and_(_C.c.created_at < end, or_(_C.c.created_at < second, _C.c.id < mark_id))
    return and_(_C.c.created_at >= second, or_(_C.c.created_at >= end, _C.c.id > mark_id))


def _plain_roots() -> list[ColumnElement[bool]]:
    return [_C.c.article_id == bindparam("article_id"), _C.c.status == APPROVED,
            _C.c.parent_id.is_(None)]


@cache
def _roots_statement(newest: bool, after: bool) -> Select[Any]:
    where = _plain_roots() + ([_after_clause(newest)] if after else [])
    order = ((_C.c.created_at.desc(), _C.c.id.desc()) if newest
             else (_C.c.created_at, _C.c.id))
    return select(_C.c.created_at, _C.c.id).where(*where).order_by(*order) \
        .limit(bindparam("wanted", type_=Integer))


@cache
def _same_second_statement(newest: bool, after: bool) -> Select[Any]:
    where = _plain_roots() + ([_after_clause(newest)] if after else [])
    return select(_C.c.created_at, _C.c.id).where(
        *where, _C.c.created_at >= bindparam("last", type_=_C.c.created_at.type),
        _C.c.created_at < bindparam("last_end", type_=_C.c.created_at.type))


def _roots_after(session: Session, article_id: str, after: Key | None, newest: bool,
                 wanted: int) -> list[Key]:
    """At least the first ``wanted`` comments without a parent after ``after``, in order
    (all of them when fewer), plus every other one in the last one's second."""
    params: dict[str, Any] = {"article_id": article_id, "wanted": wanted}
    if after is not None:
        params.update(_mark(after))
    rows = session.execute(_roots_statement(newest, after is not None), params).all()
    keys = [_key(row.created_at, row.id) for row in rows]
    if len(keys) == wanted:
        # Rows of the last one's second that came later by microseconds may come first by id.
        last = keys[-1][0]
        rest = session.execute(_same_second_statement(newest, after is not None),
                               {**params, "last": last, "last_end": last + _SECOND}).all()
        keys += [_key(row.created_at, row.id) for row in rest]
    return keys


@cache
def _count_statement(newest: bool) -> Select[Any]:
    return select(func.count()).select_from(_C).where(*_plain_roots(), _after_clause(newest))


def _count_roots(session: Session, article_id: str, mark: Key, newest: bool) -> int:
    """How many comments without a parent come after ``mark`` in that order."""
    return int(session.scalar(_count_statement(newest),
                              {"article_id": article_id, **_mark(mark)}) or 0)


@cache
def _promoted_statement() -> Select[Any]:
    # From the article's unpublished top-level comments down through unpublished replies;
    # the published replies met on the way are the promoted ones (the walk stops there).
    dead = select(_C.c.id, _C.c.status, _C.c.article_id, _C.c.created_at).where(
        _C.c.article_id == bindparam("article_id"), _C.c.status.in_(UNPUBLISHED),
        _C.c.parent_id.is_(None)).cte("dead", recursive=True)
    child = _C.alias("child")
    dead = dead.union(
        select(child.c.id, child.c.status, child.c.article_id, child.c.created_at)
        .select_from(dead).join(child, child.c.parent_id == dead.c.id)
        .where(dead.c.status != APPROVED))
    return select(dead.c.id, dead.c.created_at, dead.c.article_id).where(
        dead.c.status == APPROVED)


def _promoted_roots(session: Session, article_id: str) -> list[Key]:
    """Approved comments whose every ancestor is unpublished: shown top-level."""
    rows = session.execute(_promoted_statement(), {"article_id": article_id}).all()
    return [_key(row.created_at, row.id) for row in rows if row.article_id == article_id]


@cache
def _chain_statement() -> Select[Any]:
    chain = select(_C.c.id, _C.c.parent_id, _C.c.status, _C.c.article_id, _C.c.created_at) \
        .where(_C.c.id == bindparam("comment_id")).cte("chain", recursive=True)
    parent = _C.alias("parent")
    chain = chain.union(
        select(parent.c.id, parent.c.parent_id, parent.c.status, parent.c.article_id,
               parent.c.created_at)
        .select_from(chain).join(parent, parent.c.id == chain.c.parent_id))
    return select(chain)


def _root_of(session: Session, article_id: str, comment_id: int) -> Key:
    """The key of the top-level comment whose chain holds the comment; KeyError if the
    comment is not published on this article."""
    rows = {row.id: row for row in session.execute(_chain_statement(),
                                                   {"comment_id": comment_id})
            if row.article_id == article_id}
    if comment_id not in rows or rows[comment_id].status != APPROVED:
        raise KeyError(comment_id)
    # Walk up from the comment: the last published one met is the top of its chain.
    top = node = rows[comment_id]
    seen = {comment_id}
    while node.parent_id in rows and node.parent_id not in seen:
        seen.add(node.parent_id)
        node = rows[node.parent_id]
        if node.status == APPROVED:
            top = node
    return _key(top.created_at, top.id)


_TREE_COLUMNS = ("id", "parent_id", "status", "article_id", "author_name", "body_html",
                 "created_at", "is_staff", "erased", "content_note", "staff_user_id")


@cache
def _tree_statement() -> Select[Any]:
    # The rows travel in the recursive query itself: joining comments to it afterwards let
    # SQLite scan the table in created_at order to skip a sort.
    tree = select(*(_C.c[name] for name in _TREE_COLUMNS)).where(
        _C.c.id.in_(bindparam("roots", expanding=True))).cte("tree", recursive=True)
    child = _C.alias("child")
    tree = tree.union(select(*(child.c[name] for name in _TREE_COLUMNS))
                      .select_from(tree).join(child, child.c.parent_id == tree.c.id))
    return select(tree, _STAFF.c.display_name, _STAFF.c.signature).select_from(
        tree.outerjoin(_STAFF, _STAFF.c.id == tree.c.staff_user_id))


def _subtrees(session: Session, article_id: str, root_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The roots and every published comment under them, oldest first, in the public shape,
    each reply under its nearest published ancestor (as list_public places it)."""
    if not root_ids:
        return []
    rows = session.execute(_tree_statement(), {"roots": list(root_ids)}).all()
    # Parents are followed within the article only, as list_public follows them.
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    kept: list[Any] = []
    wanted = set(root_ids)
    stack = [row for row in rows if row.id in wanted]
    while stack:
        row = stack.pop()
        kept.append(row)
        stack.extend(r for r in children.get(row.id, ()) if r.article_id == article_id)
    kept.sort(key=lambda row: (row.created_at, row.id))
    parents = {row.id: row.parent_id for row in kept}
    public_ids = {row.id for row in kept if row.status == APPROVED}
    out = []
    for row in kept:
        if row.id not in public_ids:
            continue
        parent_id = row.parent_id
        while parent_id is not None and parent_id not in public_ids:
            parent_id = parents.get(parent_id)
        out.append(public_threads.public_comment(row, parent_id))
    return out
