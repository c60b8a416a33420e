"""The local spam classifier: learns from staff decisions, scores new comments, explains why.

A naive Bayes over the features of spam_features, counted per comment (a feature counts
once per comment) in the database: approving teaches "not spam", marking spam or
rejecting teaches "spam". Nothing leaves the server. Each decision is stored with the
features it counted (spam_training), so a changed or undone decision takes back exactly
what it added. Until staff have decided enough of both kinds
(``COMMENTS_SPAM_MIN_DECISIONS``) the classifier stays silent: no score at all.

Scoring is a dictionary look-up per feature in an in-process copy of the counts, reloaded
only when the model's version in the database has moved (one small query per post; on
PostgreSQL part of the post's one read, verbs/post_reads.py).
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from comments_service.store.database import Database
from comments_service.store.models import (
    Comment,
    CommentStatus,
    SpamFeature,
    SpamModelState,
    SpamTraining,
)
from comments_service.verbs import spam_features

SPAM = "spam"
HAM = "ham"
# Which label each decision teaches; pending (an undo) teaches nothing, and deleting a
# comment says nothing about whether it was spam, so it keeps whatever it had taught.
LABELS: dict[CommentStatus, str | None] = {
    CommentStatus.APPROVED: HAM,
    CommentStatus.SPAM: SPAM,
    CommentStatus.REJECTED: SPAM,
    CommentStatus.PENDING: None,
}
# Only the strongest features vote: naive Bayes over hundreds of correlated features is
# wildly overconfident, and a capped vote also makes the explanation honest.
VOTERS = 24
MIN_SEEN = 2  # a feature seen once says more about one comment than about spam
EXPLAIN = 4
DAMPING = 0.35
_STATE_ID = 1
_FEATURES = SpamFeature.__table__


@dataclass(frozen=True)
class Score:
    """A comment's spam probability and the readable features that pushed it up."""

    probability: float
    reasons: list[str] = field(default_factory=list)

    def reasons_json(self) -> str:
        return json.dumps(self.reasons, ensure_ascii=False)


@dataclass(frozen=True)
class Snapshot:
    """The counts as of one model version, for scoring without the database."""

    version: int
    spam_docs: int
    ham_docs: int
    counts: dict[str, tuple[int, int]]

    def ready(self, min_decisions: int) -> bool:
        return self.spam_docs >= min_decisions and self.ham_docs >= min_decisions

    def score(self, features: list[str]) -> Score:
        """The probability these features are spam, with the phrases that said so most."""
        votes: list[tuple[float, str]] = []
        spam_total = self.spam_docs + 1.0
        ham_total = self.ham_docs + 1.0
        for feature in features:
            counts = self.counts.get(feature)
            if counts is None or counts[0] + counts[1] < MIN_SEEN:
                continue
            spam_rate = (counts[0] + 0.5) / spam_total
            ham_rate = (counts[1] + 0.5) / ham_total
            votes.append((math.log(spam_rate / ham_rate), feature))
        votes.sort(key=lambda vote: abs(vote[0]), reverse=True)
        strongest = votes[:VOTERS]
        # Damped: the votes are not independent, so their plain sum overstates certainty.
        evidence = DAMPING * sum(weight for weight, _ in strongest)
        probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, evidence))))
        reasons: list[str] = []
        for weight, feature in sorted(strongest, reverse=True):
            label = spam_features.describe(feature)
            if weight <= 0 or len(reasons) >= EXPLAIN:
                break
            if label and label not in reasons:
                reasons.append(label)
        return Score(round(probability, 4), reasons)


_EMPTY = Snapshot(-1, 0, 0, {})
_snapshots: weakref.WeakKeyDictionary[Database, Snapshot] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def snapshot(database: Database, session: Session, version: int | None = None) -> Snapshot:
    """This process's copy of the counts, reloaded when another decision has moved them.

    ``version`` is the model's version when the caller has read it already (a post on
    PostgreSQL reads it with the pause switch, verbs/post_reads.py); then an unchanged
    model costs no query at all.
    """
    if version is None:
        state = session.get(SpamModelState, _STATE_ID)
        version = state.version if state is not None else 0
    with _lock:
        cached = _snapshots.get(database, _EMPTY)
    if cached.version == version:
        return cached
    counts = {feature: (spam, ham) for feature, spam, ham in session.execute(
        select(_FEATURES.c.feature, _FEATURES.c.spam, _FEATURES.c.ham))}
    # The totals are the lessons themselves, so they can never drift from them.
    totals = dict(session.execute(select(SpamTraining.label, func.count())
                                  .group_by(SpamTraining.label)).all())
    fresh = Snapshot(version, totals.get(SPAM, 0), totals.get(HAM, 0), counts)
    with _lock:
        _snapshots[database] = fresh
    return fresh


def score_text(database: Database, session: Session, body: str, author: str = "",
               version: int | None = None) -> Score | None:
    """A new comment's score, or None while staff have decided too few comments
    (``version``: the model's, if already read; see snapshot)."""
    model = snapshot(database, session, version)
    if not model.ready(database.settings.spam_min_decisions):
        return None
    return model.score(spam_features.extract(body, author))


def is_likely_spam(database: Database, score: Score | None) -> bool:
    """True when a score is at or above the likely-spam threshold."""
    return score is not None and score.probability >= database.settings.spam_threshold


# Learning ----------------------------------------------------------------------------------


def record_decision(session: Session, comment: Comment, status: CommentStatus) -> None:
    """Teach the classifier what staff decided about a reader's comment (in their transaction).

    A comment counts once, with its latest label: marking an approved comment as spam moves
    its features from one side to the other, and returning it to pending takes them back.
    Staff replies teach nothing.
    """
    if comment.is_staff or status not in LABELS:
        return
    label = LABELS[status]
    learned = session.get(SpamTraining, comment.id)
    if learned is not None and learned.label == label:
        return
    if learned is not None:
        _count(session, json.loads(learned.features), learned.label, -1)
        session.delete(learned)
        session.flush()
    if label is not None:
        features = spam_features.extract(comment.body, comment.author_name)
        _count(session, features, label, +1)
        session.add(SpamTraining(comment_id=comment.id, label=label,
                                 features=json.dumps(features, ensure_ascii=False)))
    _bump(session)


def relearn(session: Session, comment: Comment) -> None:
    """After staff edit a decided comment's text: count its new words instead of the old,
    so a redacted detail does not stay behind in the lesson."""
    learned = session.get(SpamTraining, comment.id)
    if learned is None:
        return
    label = learned.label
    _count(session, json.loads(learned.features), label, -1)
    features = spam_features.extract(comment.body, comment.author_name)
    _count(session, features, label, +1)
    learned.features = json.dumps(features, ensure_ascii=False)
    _bump(session)


def forget_comments(session: Session, comment_ids: list[int]) -> None:
    """Drop what erased comments taught, so no bag of their words stays behind."""
    for learned in session.scalars(select(SpamTraining).where(
            SpamTraining.comment_id.in_(comment_ids))):
        _count(session, json.loads(learned.features), learned.label, -1)
        session.delete(learned)
        _bump(session)


def _count(session: Session, features: list[str], label: str, change: int) -> None:
    if not features:
        return
    column = "spam" if label == SPAM else "ham"
    if change < 0:
        session.execute(update(_FEATURES).where(_FEATURES.c.feature.in_(features))
                        .values({column: _FEATURES.c[column] - 1}))
        # A feature no lesson has any more is dropped, as if it had never been seen.
        session.execute(delete(_FEATURES).where(
            _FEATURES.c.feature.in_(features), _FEATURES.c.spam <= 0, _FEATURES.c.ham <= 0))
        return
    dialect = session.get_bind().dialect.name
    # Imported here: a SQLite worker never loads the PostgreSQL dialect (about 2.4 MB).
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(_FEATURES)
    statement = statement.on_conflict_do_update(
        index_elements=[_FEATURES.c.feature],
        set_={column: _FEATURES.c[column] + statement.excluded[column]})
    other = "ham" if column == "spam" else "spam"
    session.execute(statement, [{"feature": f, column: 1, other: 0} for f in features])


def _bump(session: Session) -> None:
    # The migration seeds the row; it is created here only if someone deleted it.
    state = session.get(SpamModelState, _STATE_ID, with_for_update=True)
    if state is None:
        state = SpamModelState(id=_STATE_ID, version=0)
        session.add(state)
    state.version += 1


# Reading and rescoring -----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """What the classifier has learned so far, for staff and the CLI."""

    spam_docs: int
    ham_docs: int
    features: int
    min_decisions: int
    threshold: float

    @property
    def ready(self) -> bool:
        return self.spam_docs >= self.min_decisions and self.ham_docs >= self.min_decisions


def status(database: Database) -> Status:
    """The classifier's counts and whether it scores yet."""
    with database.read() as session:
        model = snapshot(database, session)
    settings = database.settings
    return Status(model.spam_docs, model.ham_docs, len(model.counts),
                  settings.spam_min_decisions, settings.spam_threshold)


def rescore_pending(database: Database) -> int:
    """Score every pending comment again with what the classifier knows now; returns how many.

    While it is still silent, the scores are cleared, so nothing sits in "Likely spam" on
    the word of a model that has since been un-taught.
    """
    with database.write() as session:
        model = snapshot(database, session)
        ready = model.ready(database.settings.spam_min_decisions)
        pending = list(session.scalars(select(Comment).where(
            Comment.status == CommentStatus.PENDING, Comment.is_staff.is_(False))))
        for comment in pending:
            found = model.score(spam_features.extract(comment.body, comment.author_name)) \
                if ready else None
            comment.spam_score = found.probability if found else None
            comment.spam_reasons = found.reasons_json() if found else ""
    return len(pending)


def explanation(comment: Comment, threshold: float) -> str:
    """The queue's line about a comment's score: "likely spam: 0.97, because: 'cheap
    pills', 'http://…', many links"; "" when it has no score."""
    if comment.spam_score is None:
        return ""
    try:
        reasons = [str(r) for r in json.loads(comment.spam_reasons or "[]")]
    except ValueError:
        reasons = []
    verdict = "likely spam" if comment.spam_score >= threshold else "spam score"
    because = f", because: {', '.join(reasons)}" if reasons else ""
    return f"{verdict}: {comment.spam_score:.2f}{because}"
