"""Train the crisis detector's naive Bayes model on the tuning part of the crisis corpus.

    .venv/bin/python scripts/train_crisis_model.py          # writes the packaged model.json
    .venv/bin/python scripts/train_crisis_model.py --check  # exit 1 if model.json is stale

Only ``tests/data/crisis/tune.jsonl`` is read: the measured part stays unseen. The decision
threshold is chosen on five held-out folds of the tuning part, as the score above which at
most FALSE_ALARM_BUDGET of calm texts fall, so the model alone stays quiet on calm comments
it was not trained on. Training is deterministic: the same corpus gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from comments_service.verbs.crisis.languages import CATEGORIES  # noqa: E402
from comments_service.verbs.crisis.model import MODEL_FILE, CrisisModel, train  # noqa: E402
from comments_service.verbs.crisis.normalise import fold  # noqa: E402

TUNE = REPO / "tests" / "data" / "crisis" / "tune.jsonl"
FOLDS = 5
FALSE_ALARM_BUDGET = 0.015


def corpus() -> list[tuple[str, bool, str | None]]:
    """(folded text, urgent, first category) for every tuning text, in file order."""
    rows = []
    for line in TUNE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            category = item["categories"][0] if item.get("urgent") else None
            rows.append((fold(item["text"]).text, bool(item["urgent"]), category))
    return rows


def held_out_threshold(rows: list[tuple[str, bool, str | None]]) -> float:
    """The score that at most FALSE_ALARM_BUDGET of held-out calm texts exceed."""
    calm_scores = []
    for fold_index in range(FOLDS):
        training = [r for i, r in enumerate(rows) if i % FOLDS != fold_index]
        model = CrisisModel(train(training, list(CATEGORIES), threshold=0.0))
        for i, (text, urgent, _) in enumerate(rows):
            if i % FOLDS == fold_index and not urgent:
                calm_scores.append(model.read(fold(text)).score)
    calm_scores.sort()
    allowed = int(len(calm_scores) * FALSE_ALARM_BUDGET)
    return calm_scores[len(calm_scores) - 1 - allowed]


def model_bytes() -> bytes:
    rows = corpus()
    data = train(rows, list(CATEGORIES), threshold=held_out_threshold(rows))
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the packaged model differs from a fresh training")
    args = parser.parse_args()
    fresh = model_bytes()
    if args.check:
        if MODEL_FILE.read_bytes() != fresh:
            print(f"{MODEL_FILE} is stale: run scripts/train_crisis_model.py", file=sys.stderr)
            return 1
        print(f"{MODEL_FILE} matches the corpus")
        return 0
    MODEL_FILE.write_bytes(fresh)
    threshold = json.loads(fresh)["threshold"]
    print(f"wrote {MODEL_FILE} ({len(fresh) // 1024} KB, threshold {threshold})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
