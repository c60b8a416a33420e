"""How well the local spam classifier does on the fictional decisions in tests/data/spam/.

Trains through the real storage path (a SQLite file, staff decisions recorded as the
moderation verbs record them), then scores the held-out part as a post would, and prints
precision and recall for spam, the false positive rate on good comments at the likely-spam
threshold, and the time to score one comment. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/spam_classifier.py [--train-share 0.6] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from comments_service.config import Settings  # noqa: E402
from comments_service.store.database import Database  # noqa: E402
from comments_service.store.migrate import upgrade  # noqa: E402
from comments_service.store.models import Comment, CommentStatus, utcnow  # noqa: E402
from comments_service.verbs import screening, spam_features, spam_learning  # noqa: E402
from comments_service.verbs.keyring import Keyring  # noqa: E402

FIXTURE = REPO / "tests" / "data" / "spam" / "decisions.jsonl"


def load(path: Path = FIXTURE) -> list[dict[str, str]]:
    """The fixture's decisions, in file order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def split(rows: list[dict[str, str]], share: float, seed: int) -> tuple[list, list]:
    """A stratified split: the same share of spam and of good comments goes to training."""
    rng = random.Random(seed)
    train, test = [], []
    for label in ("ham", "spam"):
        group = [r for r in rows if r["label"] == label]
        rng.shuffle(group)
        cut = round(len(group) * share)
        train += group[:cut]
        test += group[cut:]
    return train, test


def train(database: Database, rows: list[dict[str, str]]) -> None:
    """Store each row as a comment and record the staff decision, as _set_status does."""
    with database.write() as session:
        for row in rows:
            now = utcnow()
            comment = Comment(article_id="bench", author_name=row["author"], body=row["body"],
                              body_html="", status=CommentStatus.PENDING, created_at=now,
                              updated_at=now)
            session.add(comment)
            session.flush()
            status = CommentStatus.SPAM if row["label"] == "spam" else CommentStatus.APPROVED
            comment.status = status
            spam_learning.record_decision(session, comment, status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-share", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=200, help="scoring passes to time")
    args = parser.parse_args()
    rows = load()
    training, held_out = split(rows, args.train_share, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(var_dir=Path(folder), secret_key="b" * 40,  # type: ignore[arg-type]
                            spam_min_decisions=1)
        database = Database(settings)
        upgrade(database)
        started = time.perf_counter()
        train(database, training)
        train_seconds = time.perf_counter() - started
        with database.read() as session:
            model = spam_learning.snapshot(database, session)
        threshold = settings.spam_threshold
        results = []
        for row in held_out:
            score = model.score(spam_features.extract(row["body"], row["author"]))
            results.append((row["label"], score.probability))
        extracted = [(r["body"], r["author"]) for r in held_out]
        started = time.perf_counter()
        for _ in range(args.repeat):
            for body, author in extracted:
                model.score(spam_features.extract(body, author))
        per_comment = (time.perf_counter() - started) / (args.repeat * len(extracted))
        # The whole pre-write step of a post: its read transaction (blocklist, model
        # version, trust) plus the score, as comments.submit runs it.
        keyring = Keyring(settings.secret())
        started = time.perf_counter()
        for body, author in extracted:
            screening.screen(database, keyring, email="bench@example.org", email_hash="",
                             client_ip="192.0.2.1", author=author, body=body, urgent=False)
        per_screen = (time.perf_counter() - started) / len(extracted)
        database.dispose()

    def report(cut: float) -> str:
        tp = sum(1 for label, p in results if label == "spam" and p >= cut)
        fp = sum(1 for label, p in results if label == "ham" and p >= cut)
        fn = sum(1 for label, p in results if label == "spam" and p < cut)
        good = sum(1 for label, _ in results if label == "ham")
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        return (f"threshold {cut:.2f}: spam precision {precision:.2f}, recall {recall:.2f}, "
                f"false positives {fp} of {good} good comments ({fp / good:.1%})")

    print(f"fixture: {len(rows)} decisions; trained on {len(training)} "
          f"({sum(r['label'] == 'spam' for r in training)} spam) in {train_seconds:.2f} s, "
          f"measured on {len(held_out)}")
    print(f"model: {model.spam_docs} spam, {model.ham_docs} good, {len(model.counts)} features")
    for cut in sorted({0.5, threshold}):
        print(report(cut))
    print(f"scoring time: {per_comment * 1e6:.0f} us per comment (features + look-ups, "
          f"{args.repeat} passes)")
    print(f"screening time: {per_screen * 1e3:.2f} ms per post (its read transaction on "
          f"SQLite included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
