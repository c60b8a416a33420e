"""The crisis detector's trained second opinion: reproducible from the corpus, quiet on calm.

The model is trained only on the tuning part of the corpus; these tests check that the
packaged files are what that training gives, that the serving code (plain Python) reads
them exactly as the trainer (scikit-learn) meant, that it never learned from the measured
parts, and that what it reports points at the reader's own words.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from comments_service.verbs.crisis import Detector
from comments_service.verbs.crisis.model import (
    MODEL_FILE,
    WEIGHTS_FILE,
    CrisisModel,
    bucket,
    feature_buckets,
    features,
    shipped_model,
    tokens,
)
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


def packaged() -> dict:  # type: ignore[type-arg]
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def tuning_texts() -> list[dict]:  # type: ignore[type-arg]
    lines = (CORPUS / "tune.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_packaged_model_was_trained_on_the_tuning_corpus_as_it_is() -> None:
    # A tuning text added or changed without retraining fails here, not silently later.
    assert packaged()["corpus_sha256"] == trainer().corpus_digest()
    texts = tuning_texts()
    assert packaged()["texts"] == {"urgent": sum(t["urgent"] for t in texts),
                                   "calm": sum(not t["urgent"] for t in texts)}


def test_the_serving_code_scores_texts_exactly_as_training_did() -> None:
    texts = tuning_texts()
    checks = packaged()["checks"]
    assert len(checks) >= 20

    for index, expected in checks:
        assert shipped_model().score(fold(texts[index]["text"]).text) == pytest.approx(
            expected, abs=1e-4), texts[index]["text"]


@pytest.mark.parametrize("text", [
    "i've been hoarding my meds, idk",
    "Ya no aguanto más, mañana lo termino todo.",
    "same same same",
    "",
])
def test_the_features_are_hashed_as_documented(text: str) -> None:
    # feature_buckets computes without building strings; it must fill the same slots,
    # with the same word spans, as hashing each documented feature by name.
    folded = fold(text).text
    expected: dict[int, tuple[int, int]] = {}
    for name, start, end in features(tokens(folded)):
        slot = bucket(name, 18)
        if slot not in expected or expected[slot][0] < 0 <= start:
            expected[slot] = (start, end)

    assert feature_buckets(folded, 18) == expected


def test_a_fresh_training_gives_the_packaged_files() -> None:
    pytest.importorskip("sklearn", reason="retraining needs scikit-learn (the test extra)")
    module = trainer()
    meta, weights = module.train()
    fresh, shipped = json.loads(meta), packaged()

    assert fresh["corpus_sha256"] == shipped["corpus_sha256"]
    assert fresh["threshold"] == pytest.approx(shipped["threshold"], abs=0.01)
    assert fresh["veto"] == pytest.approx(shipped["veto"], abs=0.01)
    assert fresh["classes"] == shipped["classes"]
    # Bit-for-bit on this machine; a BLAS of another build may round a weight differently.
    old, new = WEIGHTS_FILE.read_bytes(), weights
    assert len(old) == len(new)
    differing = sum(a != b for a, b in zip(old[::2], new[::2], strict=True))
    assert differing <= len(old) // 2000


def test_the_trainer_reads_only_the_tuning_part() -> None:
    # The held-out parts must never shape the model; that no text is in two parts is
    # checked with the corpus in test_crisis_detector.py.
    source = (REPO / "scripts" / "train_crisis_model.py").read_text(encoding="utf-8")
    assert "tune.jsonl" in source
    for held_out in ("measure", "holdout"):
        assert f"{held_out}.jsonl" not in source and f'"{held_out}' not in source


def test_its_cut_offs_put_plain_statements_on_either_side() -> None:
    model = shipped_model()

    assert model.score(fold("I want to kill myself tonight").text) > model.threshold
    assert model.score(fold("Lovely article, thank you for the references").text) < \
        model.threshold


def test_its_evidence_is_a_span_of_what_the_reader_wrote() -> None:
    text = "Honestly I\u2019ve started saving up my pills, a few every week."
    folded = fold(text)
    verdict = shipped_model().read(folded, categorise=True)

    assert verdict.start >= 0
    start, end = folded.span(verdict.start, verdict.end)
    assert text[start:end].strip()
    assert text[start:end] in text
    assert verdict.category in shipped_model().classes


def test_a_model_file_of_another_version_is_refused() -> None:
    weights = WEIGHTS_FILE.read_bytes()
    with pytest.raises(ValueError, match="version"):
        CrisisModel({**packaged(), "version": 1}, weights)


def test_a_weights_file_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="urgency"):
        CrisisModel(packaged(), WEIGHTS_FILE.read_bytes()[:1000])
    with pytest.raises(ValueError, match="categories"):
        CrisisModel(packaged(), WEIGHTS_FILE.read_bytes()[:-2])


def overruled_calm_text() -> str:
    # A calm tuning text that a built-in pattern flags but the model is sure is calm.
    patterns_only, model = Detector(use_model=False), shipped_model()
    for item in tuning_texts():
        if (not item["urgent"] and patterns_only.detect(item["text"]).urgent
                and model.score(fold(item["text"]).text) < model.veto):
            return str(item["text"])
    raise AssertionError("no calm tuning text is overruled by the model")


def test_the_model_overrules_a_pattern_it_is_sure_is_calm() -> None:
    text = overruled_calm_text()

    assert Detector(use_model=False).detect(text).urgent
    assert not Detector().detect(text).urgent


def test_the_model_never_overrules_an_operator_phrase() -> None:
    text = overruled_calm_text()
    phrase = Detector(use_model=False).detect(text).matches[0].text

    found = Detector(extra_phrases=[phrase]).detect(text)

    assert found.urgent
    assert {m.language for m in found.matches} == {"operator"}


def test_the_detector_can_run_without_the_model() -> None:
    detector = Detector(use_model=False)
    assert detector.detect("I want to end my life").urgent
