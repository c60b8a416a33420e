"""The crisis detector's trained second opinion: reproducible from the corpus, quiet on calm.

The model is trained only on the tuning part of the corpus; these tests check that the
packaged files are what that training gives, that the serving code (plain Python) reads
them exactly as the trainer (scikit-learn) meant, that it never learned from the measured
parts, and that what it reports points at the reader's own words.
"""

from __future__ import annotations

import hashlib
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
    sentences,
    shipped_model,
    tokens,
    window_slots,
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


def test_the_packaged_cut_offs_were_chosen_on_the_dev_part_as_it_is() -> None:
    # The threshold and window are chosen on dev.jsonl: a dev text added or changed
    # without retraining fails here.
    digest = hashlib.sha256((CORPUS / "dev.jsonl").read_bytes()).hexdigest()
    assert packaged()["dev_sha256"] == digest


def test_the_detector_keeps_the_dev_part_within_the_false_alarm_budget() -> None:
    # The figures model.json records are the shipped detector's own on the dev part, not
    # the trainer's estimate of them, and its false alarms are within the trainer's budget.
    lines = (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line) for line in lines if line.strip()]
    detector = Detector()
    urgent = [detector.detect(t["text"]).urgent for t in texts if t["urgent"]]
    calm = [detector.detect(t["text"]).urgent for t in texts if not t["urgent"]]
    recall, false_alarms = sum(urgent) / len(urgent), sum(calm) / len(calm)

    assert packaged()["dev"] == {"recall": round(recall, 4),
                                 "false_alarms": round(false_alarms, 4)}
    assert false_alarms <= trainer().FALSE_ALARM_BUDGET


def test_the_serving_code_scores_texts_exactly_as_training_did() -> None:
    texts = tuning_texts()
    checks = packaged()["checks"]
    assert len(checks) >= 20

    for index, expected in checks:
        assert shipped_model().score(fold(texts[index]["text"]).text) == pytest.approx(
            expected, abs=1e-4), texts[index]["text"]


def test_the_serving_code_scores_long_texts_windows_exactly_as_training_did() -> None:
    texts = tuning_texts()
    checks = packaged()["window_checks"]
    assert len(checks) >= 20

    for index, expected in checks:
        best = shipped_model().best_window(fold(texts[index]["text"]))
        assert best is not None, texts[index]["text"]
        assert best.score == pytest.approx(expected, abs=1e-4), texts[index]["text"]


def test_a_window_is_two_sentences_of_a_text_of_three_or_more() -> None:
    folded = "thanks for this. i slept badly again! anyway; see you all"

    assert [folded[a:b] for a, b in sentences(folded)] == [
        "thanks for this", " i slept badly again", " anyway", " see you all"]
    windows = window_slots(folded, 18)
    assert len(windows) == 3
    first, second = (feature_buckets(folded[a:b], 18) for a, b in sentences(folded)[:2])
    assert set(windows[0]) == set(first) | set(second)
    assert window_slots("one sentence. and a second one.", 18) == []
    assert shipped_model().best_window(fold("Just two sentences. Nothing more.")) is None


def long_comment(danger: str) -> str:
    return ("Thank you for writing this, I read it twice on the bus this morning. The part "
            "about sleep routines made a lot of sense to me and I have started keeping the "
            "phone out of the bedroom. My sister recommended the book in the references and "
            f"we have been reading it together. {danger} Anyway, the section on talking to "
            "your doctor was clear and I will take the list of questions with me next "
            "month. Please keep writing these, they are useful for families like ours.")


def test_one_urgent_sentence_in_a_long_ordinary_comment_is_flagged() -> None:
    text = long_comment("I gave my cat to the neighbour yesterday because I won't be here "
                        "to feed him.")
    model = shipped_model()
    folded = fold(text)
    # Neither the patterns nor the whole text's score find it: the ordinary sentences
    # around it outweigh the one that matters.
    assert not Detector(use_model=False).detect(text).urgent
    assert not model.read(folded).urgent(model.threshold)

    found = Detector().detect(text)

    assert found.urgent
    assert [m.language for m in found.matches] == ["model"]
    danger = text.index("I gave my cat")
    assert all(danger <= m.start < m.end <= text.index(" Anyway") for m in found.matches)


def test_a_long_ordinary_comment_is_not_flagged_by_its_windows() -> None:
    text = long_comment("My husband cooks on Sundays and the kids set the table.")

    assert not Detector().detect(text).urgent


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


def test_the_trainer_reads_only_the_tuning_and_dev_parts() -> None:
    # The held-out parts must never shape the model; that no text is in two parts is
    # checked with the corpus in test_crisis_detector.py.
    source = (REPO / "scripts" / "train_crisis_model.py").read_text(encoding="utf-8")
    assert "tune.jsonl" in source and "dev.jsonl" in source
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
    verdict = shipped_model().read(folded)

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
    with pytest.raises(ValueError, match="weights file holds 1000 weights"):
        CrisisModel(packaged(), WEIGHTS_FILE.read_bytes()[:1000])
    with pytest.raises(ValueError, match="weights file"):
        CrisisModel(packaged(), WEIGHTS_FILE.read_bytes()[:-2])


def test_a_model_file_without_a_bias_per_class_is_refused() -> None:
    with pytest.raises(ValueError, match="one per class"):
        CrisisModel({**packaged(), "biases": packaged()["biases"][:-1]},
                    WEIGHTS_FILE.read_bytes())


def test_it_names_the_category_of_what_it_reads() -> None:
    # The urgent classes are the categories themselves, so the likeliest one is named.
    model = shipped_model()

    assert model.read(fold("he hit me again tonight and says he will kill me")).category \
        == "danger_from_others"
    assert model.read(fold("my best friend told me she wants to kill herself")).category \
        == "third_party"


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
