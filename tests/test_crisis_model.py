"""The crisis detector's trained second opinion: reproducible from the corpus, quiet on calm.

The model is trained only on the tuning part of the corpus; these tests check that the
packaged file is exactly what that training gives, that it never learned from the measured
part, and that what it reports points at the reader's own words.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from comments_service.verbs.crisis import Detector
from comments_service.verbs.crisis.model import MODEL_FILE, CrisisModel, shipped_model, train
from comments_service.verbs.crisis.normalise import fold

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "crisis"


def trainer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "train_crisis_model", REPO / "scripts" / "train_crisis_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_packaged_model_is_exactly_what_the_tuning_corpus_trains() -> None:
    # Retraining is deterministic, so a stale model.json (the corpus changed, the model
    # did not) fails here rather than drifting silently.
    assert MODEL_FILE.read_bytes() == trainer().model_bytes()


def test_the_trainer_reads_only_the_tuning_part() -> None:
    # The held-out parts (measure, holdout) must never shape the model; that no text is in
    # two parts is checked with the corpus in test_crisis_detector.py.
    source = (REPO / "scripts" / "train_crisis_model.py").read_text(encoding="utf-8")
    assert "tune.jsonl" in source
    assert "measure.jsonl" not in source and "holdout.jsonl" not in source


def test_its_threshold_is_the_one_chosen_on_held_out_folds() -> None:
    module = trainer()

    assert shipped_model().threshold == pytest.approx(
        module.held_out_threshold(module.corpus()), abs=0.001)


def test_its_evidence_is_a_span_of_what_the_reader_wrote() -> None:
    text = "Honestly I\u2019ve started saving up my pills, a few every week."
    folded = fold(text)
    verdict = shipped_model().read(folded)

    assert verdict.start >= 0
    start, end = folded.span(verdict.start, verdict.end)
    assert text[start:end].strip()
    assert text[start:end] in text


def test_a_model_file_of_another_version_is_refused() -> None:
    data = train([("i want to die", True, "suicidal_ideation"), ("nice article", False, None)],
                 ["suicidal_ideation"], threshold=0.0, min_count=1)

    CrisisModel(data)
    with pytest.raises(ValueError, match="version"):
        CrisisModel({**data, "version": 99})


def test_the_detector_can_run_without_the_model() -> None:
    detector = Detector(use_model=False)
    assert detector.detect("I want to end my life").urgent
