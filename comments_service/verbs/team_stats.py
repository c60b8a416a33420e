"""The team dashboard's figures: comments per day, the oldest wait, open reports, and how
fast urgent comments get a first staff action. One aggregate query per figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, column, func, inspect, or_, select, table
from sqlalchemy.orm import Session

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.models import AuditEntry, Comment, CommentStatus, utcnow

DAYS = 30
WEEKS = 8
STATUSES = [s.value for s in CommentStatus]


@dataclass(frozen=True)
class DayCounts:
    """How many comments posted on one (UTC) day are in each status now."""

    day: date
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class UrgentWeek:
    """Urgent comments posted in one week (from Monday) and how soon staff first acted."""

    week: date
    flagged: int
    median: timedelta | None
    worst: timedelta | None
    waiting: int = 0
    delays: list[timedelta] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Oldest:
    """The pending queue's size and its oldest comment's wait."""

    pending: int
    age: timedelta | None


def _day_of(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    # Days are UTC days in both databases; SQLite stores the UTC text, PostgreSQL converts.
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def comments_per_day(database: Database, now: datetime | None = None,
                     days: int = DAYS) -> list[DayCounts]:
    """The last ``days`` days (today included), oldest first, each with counts by status."""
    now = now or utcnow()
    first = now.date() - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    with database.read() as session:
        day = _day_of(session, Comment.created_at).label("day")
        for day_text, status, count in session.execute(
            select(day, Comment.status, func.count())
            .where(Comment.created_at >= start).group_by(day, Comment.status)
        ):
            found[str(day_text)][CommentStatus(status).value] = count
    result = []
    for offset in range(days):
        when = first + timedelta(days=offset)
        counts = found.get(when.isoformat(), {})
        result.append(DayCounts(when, {s: counts.get(s, 0) for s in STATUSES}))
    return result


def oldest_pending(database: Database, now: datetime | None = None) -> Oldest:
    """How many comments wait and how long the oldest has waited."""
    now = now or utcnow()
    with database.read() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(Comment.created_at))
            .where(Comment.status == CommentStatus.PENDING)).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return Oldest(count or 0, now - oldest if oldest is not None else None)


# The reports feature is written alongside this one; its table is read only if it exists.
REPORT_TABLES = ("comment_reports", "reports")


def open_reports(database: Database) -> int:
    """Reader reports still open; 0 while no reports table exists (before that feature)."""
    with database.read() as session:
        inspector = inspect(session.connection())
        name = next((t for t in REPORT_TABLES if inspector.has_table(t)), None)
        if name is None:
            return 0
        columns = {c["name"] for c in inspector.get_columns(name)}
        reports = table(name, *[column(c) for c in columns])
        query = select(func.count()).select_from(reports)
        if "status" in columns:
            query = query.where(reports.c.status == "open")
        elif "resolved_at" in columns:
            query = query.where(reports.c.resolved_at.is_(None))
        return session.scalar(query) or 0


def _staff_action() -> ColumnElement[bool]:
    # A person on the team: a signed-in account, or an operator at the command line. A
    # reader withdrawing their own comment is not the team responding.
    return or_(AuditEntry.staff_user_id.is_not(None), AuditEntry.actor.like("cli:%"))


def urgent_response(database: Database, now: datetime | None = None,
                    weeks: int = WEEKS) -> list[UrgentWeek]:
    """Per week (oldest first), the time from posting to the first staff action on urgent
    comments: median and worst. A comment nobody has acted on counts with its wait so far.

    "Urgent" includes flags later dismissed as false alarms: they needed a look all the same.
    """
    now = now or utcnow()
    this_monday = now.date() - timedelta(days=now.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    with database.read() as session:
        rows = session.execute(
            select(Comment.created_at, func.min(AuditEntry.created_at))
            .outerjoin(AuditEntry, and_(AuditEntry.comment_id == Comment.id, _staff_action(),
                                        AuditEntry.created_at >= Comment.created_at))
            .where(Comment.created_at >= start, Comment.is_staff.is_(False),
                   or_(Comment.urgent.is_(True), Comment.urgent_reasons != ""))
            .group_by(Comment.id, Comment.created_at)).all()
    delays: dict[date, list[timedelta]] = defaultdict(list)
    waiting: dict[date, int] = defaultdict(int)
    for posted, acted in rows:
        if posted.tzinfo is None:
            posted = posted.replace(tzinfo=now.tzinfo)
        week = posted.date() - timedelta(days=posted.weekday())
        if acted is None:
            waiting[week] += 1
            delays[week].append(now - posted)
            continue
        if acted.tzinfo is None:
            acted = acted.replace(tzinfo=now.tzinfo)
        delays[week].append(acted - posted)
    result = []
    for offset in range(weeks):
        week = first + timedelta(weeks=offset)
        found = sorted(delays.get(week, []))
        result.append(UrgentWeek(
            week, len(found),
            _median(found) if found else None,
            found[-1] if found else None, waiting.get(week, 0), found))
    return result


def describe_duration(span: timedelta | None) -> str:
    """A wait as people say it: "under a minute", "45 min", "3 h 20 min", "2 d 4 h" (in the
    language in force, i18n.current())."""
    say = i18n.Translator(i18n.current()).gettext
    if span is None:
        return say(N_("none"))
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return say(N_("under a minute"))
    if minutes < 60:
        return say(N_("%(minutes)d min"), minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return say(N_("%(hours)d h %(minutes)d min"), hours=hours, minutes=minutes)
        return say(N_("%(hours)d h"), hours=hours)
    days, hours = divmod(hours, 24)
    if hours:
        return say(N_("%(days)d d %(hours)d h"), days=days, hours=hours)
    return say(N_("%(days)d d"), days=days)


def _median(values: list[float]) -> float:
    # statistics.median; imported here because only the dashboard needs it.
    import statistics

    return statistics.median(values)
