"""The crisis detector engine: categories, languages, tolerance, calm uses, spans, settings.

Examples here are written for the tests, not copied from the corpus. The corpus tests at the
end check the product's targets on the frozen measure part (tests/data/crisis/README.md).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from comments_service.verbs.crisis import (
    CATEGORIES,
    CATEGORY_LABELS,
    Detection,
    Detector,
    LanguageFileError,
    Match,
    detect,
)
from comments_service.verbs.crisis.languages import LANGUAGES_DIR

CORPUS = Path(__file__).parent / "data" / "crisis"
RECALL_TARGET = 0.97
FALSE_ALARM_TARGET = 0.03


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def categories(detector: Detector, text: str) -> tuple[str, ...]:
    return detector.detect(text).categories


# Each category, in English and Spanish ------------------------------------------------

CATEGORY_EXAMPLES = [
    ("suicidal_ideation", "en", "lately all i want is to die in my sleep"),
    ("suicidal_ideation", "en", "i honestly think my family would be better off without me"),
    ("suicidal_ideation", "es", "últimamente solo quiero morirme"),
    ("suicidal_ideation", "es", "a veces pienso que estarían mejor sin mí"),
    ("self_harm", "en", "I started cutting myself again after the exam results"),
    ("self_harm", "en", "the urge to burn myself is back tonight"),
    ("self_harm", "es", "anoche me volví a cortar los brazos"),
    ("self_harm", "es", "sigo haciéndome daño cuando me siento así"),
    ("plans_means", "en", "i have been stockpiling my sleeping pills for a month"),
    ("plans_means", "en", "I already picked the date and wrote a note for my parents"),
    ("plans_means", "es", "llevo semanas juntando pastillas en un cajón"),
    ("plans_means", "es", "ya tengo todo planeado para este viernes"),
    ("farewell", "en", "goodbye everyone, thanks for being kind to me"),
    ("farewell", "en", "I gave away my guitar and my books this week"),
    ("farewell", "es", "adiós a todos, gracias por todo"),
    ("farewell", "es", "por favor cuiden a mi perro cuando yo no esté"),
    ("third_party", "en", "my roommate told me she wants to end her life"),
    ("third_party", "en", "my little brother keeps saying he wants to kill himself"),
    ("third_party", "es", "mi prima me dijo que se va a quitar la vida"),
    ("third_party", "es", "mi amigo dice que ya no quiere vivir"),
    ("danger_from_others", "en", "my stepdad punched me last night and i'm scared to go back"),
    ("danger_from_others", "en", "he keeps threatening to hurt me if I tell anyone"),
    ("danger_from_others", "es", "mi pareja me golpea cuando bebe"),
    ("danger_from_others", "es", "tengo miedo de que me mate si me voy"),
    ("acute_distress", "en", "please someone help me, i'm shaking and can't breathe"),
    ("acute_distress", "en", "I'm having a panic attack on the train and I'm alone"),
    ("acute_distress", "es", "por favor ayuda, no puedo respirar"),
    ("acute_distress", "es", "no puedo más, necesito hablar con alguien ya"),
]


@pytest.mark.parametrize(("category", "lang", "text"), CATEGORY_EXAMPLES)
def test_each_category_is_detected(detector: Detector, category: str, lang: str,
                                   text: str) -> None:
    found = detector.detect(text)
    assert found.urgent, text
    assert category in found.categories, (text, found.reasons())
    assert lang in {m.language for m in found.matches}


def test_every_category_has_examples_in_both_languages() -> None:
    covered = {(category, lang) for category, lang, _ in CATEGORY_EXAMPLES}
    assert covered == {(c, lang) for c in CATEGORIES for lang in ("en", "es")}


REQUIRED_URGENT = [
    "no one would even notice if I was gone",
    "I've been hoarding my meds",
    "thinking of just ending it",
    "I keep hurting myself when things get bad",
    "cant do this anymore, want to sleep forever",
    "she told me she's going to end it tonight",
    "I want to end my life",
    "I've written the note for my family already",
    "want to die tonight",
    "Suicide is on my mind every single day.",
]
REQUIRED_CALM = [
    "the section on suicide statistics needs a newer source",
    "I work in crisis support and recommend this article to colleagues.",
    "Thank you for this clear article.",
]


# The short comments every thread is full of: a model trained on farewells ("thanks for
# everything") must not hear one in a plain thank-you.
EVERYDAY_COMMENTS = [
    "thanks", "Thanks!", "thank you", "thanks everyone", "Thanks so much, this helped.",
    "nice", "nice site", "great article", "good read, thanks", "very helpful",
    "hello everyone", "hi all", "bye for now", "see you next week", "cheers",
    "same here", "+1", "interesting", "lol", "wow", "first!", "is there a part 2?",
    "typo in the third paragraph", "sharing this with my mum",
    "gracias", "muchas gracias!!", "me encantó", "buen artículo", "hola a todos",
    "hasta luego", "yo también", "totalmente de acuerdo", "¿hay versión en PDF?",
]


@pytest.mark.parametrize("text", EVERYDAY_COMMENTS)
def test_everyday_short_comments_are_calm(detector: Detector, text: str) -> None:
    assert not detector.detect(text).urgent, detector.detect(text).reasons()


@pytest.mark.parametrize("text", REQUIRED_URGENT)
def test_required_urgent_texts(detector: Detector, text: str) -> None:
    assert detector.detect(text).urgent, text


@pytest.mark.parametrize("text", REQUIRED_CALM)
def test_required_calm_texts(detector: Detector, text: str) -> None:
    assert not detector.detect(text).urgent, detector.detect(text).reasons()


# Tolerance ------------------------------------------------------------------------------

TOLERANT = [
    "i wnat to die",
    "i want to kil myslef",
    "I WANNA KMS",
    "im going to kms tonight",
    "been thinking about unaliving myself",
    "honestly i just want to unalive",
    "sh urges are bad tonight",
    "relapsed with cutting after 3 months",
    "i just want to sleep forever and not deal with anything",
    "im ready to end it all",
    "i dont want to be here anymore",
    "i just want to not be here anymore",
    "I CANT DO THIS ANYMORE PLEASE SOMEONE HELP",
    "cant cope anymore someone pls talk to me",
    "ive got pills saved up and i know its tonight",
    "no reason to keep going tbh",
    "whats even the point of living",
    "wish i was never born",
    "QUIERO MORIR",
    "me quiero suicidar",
    "no quiero vivir mas",
    "ayudenme x favor no puedo mas",
]


@pytest.mark.parametrize("text", TOLERANT)
def test_misspellings_caps_slang_and_run_on_text(detector: Detector, text: str) -> None:
    assert detector.detect(text).urgent, text


def test_missing_and_curly_apostrophes_match_alike(detector: Detector) -> None:
    for text in ("I can't cope anymore, please help", "I cant cope anymore, please help",
                 "I can\u2019t cope anymore, please help"):
        assert "acute_distress" in categories(detector, text), text


def test_repeated_letters_are_squeezed(detector: Detector) -> None:
    assert detector.detect("pleeeease someone heeelp me").urgent


# Calm uses ------------------------------------------------------------------------------

CALM = [
    "Suicide rates in rural areas deserve a whole article",
    "The research on self-harm in older people is thin",
    "Our volunteers did a workshop on overdose first aid",
    "Suicide prevention month starts next week",
    "We talk about self harm awareness at every staff meeting",
    "I'm dying to know what the next part says",
    "that last paragraph killed me, so funny",
    "full crisis mode at work this week, but this article calmed me",
    "this deadline is killing me",
    "my boss is killing me with these emails",
    "I could kill for a nap",
    "In the game your character can jump off the bridge to escape",
    "My granddad's dog died last spring and we still miss him",
    "Ten years ago I thought about ending it all. Today I'm doing really well.",
    "i self harmed at school, now i'm 30 and haven't in years",
    "How do I support a friend who says she wants to die?",
    "Great article, thank you",
    "¿Hay estadísticas recientes sobre el suicidio en jóvenes?",
    "me muero de ganas de ver la segunda temporada",
    "esta reunión me está matando jaja",
    "hace años intenté suicidarme; ahora estoy bien y tengo una familia",
]


@pytest.mark.parametrize("text", CALM)
def test_calm_uses_are_not_flagged(detector: Detector, text: str) -> None:
    found = detector.detect(text)
    assert not found.urgent, (text, found.reasons())


def test_present_risk_in_another_sentence_still_flags(detector: Detector) -> None:
    text = ("Years ago I self harmed and got better. But last night I cut myself again "
            "and I don't know what to do.")
    assert "self_harm" in categories(detector, text)


def test_research_sentence_does_not_hide_a_personal_one(detector: Detector) -> None:
    text = "The study on suicide rates was interesting. I want to kill myself though."
    assert "suicidal_ideation" in categories(detector, text)


# Spans ----------------------------------------------------------------------------------


LONG_PLAN = ("Honestly I have been hoarding my meds for a few weeks now, and this weekend, "
             "when everyone is away at my aunt's place, I keep thinking it would be easy.")


def with_cut_offs(threshold: float, veto: float) -> Detector:
    """The default detector with its model's cut-offs moved, to see each rule act alone."""
    detector = Detector()
    model = copy.copy(detector._model)
    model.threshold, model.veto = threshold, veto
    detector._model = model
    return detector


def test_a_long_text_the_model_reads_as_calm_overrules_its_patterns() -> None:
    assert not with_cut_offs(threshold=1e9, veto=1e9).detect(LONG_PLAN).urgent


def test_a_text_the_model_flags_itself_keeps_the_patterns_words_as_the_reason() -> None:
    # Below the veto, but above the model's own threshold: no pattern is overruled, so
    # staff read "plans or means: 'hoarding my meds'", not the model's strongest words.
    matches = with_cut_offs(threshold=-1e9, veto=1e9).detect(LONG_PLAN).matches
    assert ("plans_means", "hoarding my meds", "en") in [
        (m.category, m.text, m.language) for m in matches]


def test_spans_point_into_the_original_text(detector: Detector) -> None:
    text = ("Señora, ¿qué tal? Ésta es la niña\u2019s note. I\u2019m so tired. "
            "I want to END my life.")
    found = detector.detect(text)
    assert found.urgent
    for match in found.matches:
        assert text[match.start:match.end] == match.text
    assert any(m.text == "I want to END my life" for m in found.matches)


def test_spans_with_accents_and_curly_apostrophes_before_the_match(detector: Detector) -> None:
    text = "Pasé un día horrible, ¿sabés? Can\u2019t sleep. Mañana ya no estaré aquí."
    found = detector.detect(text)
    farewell = [m for m in found.matches if m.category == "farewell"]
    assert farewell and farewell[0].text == "Mañana ya no estaré aquí"
    assert text[farewell[0].start:farewell[0].end] == "Mañana ya no estaré aquí"


def test_matches_are_frozen_dataclasses(detector: Detector) -> None:
    match = detector.detect("i want to die").matches[0]
    assert isinstance(match, Match)
    with pytest.raises(AttributeError):
        match.start = 3  # type: ignore[misc]


# Reasons --------------------------------------------------------------------------------


def test_reasons_wording(detector: Detector) -> None:
    found = detector.detect("I've been hoarding my meds")
    assert found.reasons() == ["plans or means: 'hoarding my meds'"]


def test_categories_are_distinct_and_in_order(detector: Detector) -> None:
    found = detector.detect("please help me. I want to die. goodbye everyone")
    assert found.categories == ("suicidal_ideation", "farewell", "acute_distress")
    assert list(CATEGORY_LABELS) == list(CATEGORIES)


def test_calm_detection_is_empty(detector: Detector) -> None:
    found = detector.detect("Lovely article.")
    assert found == Detection(())
    assert not found.urgent and found.categories == () and found.reasons() == []


def test_module_level_detect_uses_the_default_detector() -> None:
    assert detect("i want to die").urgent
    assert not detect("nice site").urgent


# Operator settings ----------------------------------------------------------------------


def test_operator_extra_phrases() -> None:
    custom = Detector(extra_phrases=("plans_means:the old quarry", "feeling the fog"))
    planned = custom.detect("Going to THE old  quarry tonight")
    assert planned.categories == ("plans_means",)
    assert planned.matches[0].text == "THE old  quarry"
    assert custom.detect("feeling the fog again").categories == ("acute_distress",)
    assert not Detector().detect("feeling the fog again").urgent


def test_operator_removed_phrases() -> None:
    assert Detector().detect("I want to die.").urgent
    assert not Detector(removed_phrases=("want to die",)).detect("I want to die.").urgent
    only_farewell = Detector(removed_phrases=("farewell:*",))
    assert not only_farewell.detect("goodbye everyone").urgent
    assert only_farewell.detect("i want to die").urgent


def test_languages_can_be_restricted() -> None:
    english = Detector(languages=["en"], use_model=False)
    assert not english.detect("quiero morirme").urgent
    assert english.detect("i want to die").urgent
    # The restriction is on the pattern files; the model, trained on both languages, still
    # reads every comment, so a Spanish plea on an English site is not lost.
    assert Detector(languages=["en"]).detect("quiero morirme").urgent
    with pytest.raises(LanguageFileError):
        Detector(languages=["xx"])


# A new language is a data file ----------------------------------------------------------

FRENCH = """
language: fr
name: Français
clause_breaks: [mais]
gap_stopwords: [il, elle, ne, pas]
vocab:
  je: '(?:je|j|moi)'
  mourir: '(?:mourir|me tuer|en finir)'
categories:
  suicidal_ideation:
    - '{je} ~2 (?:veux|vais) ~1 {mourir}'
suppressors:
  - name: statistiques
    scope: sentence
    patterns: ['(?:statistiques|taux)']
"""


def test_a_new_language_is_a_data_file(tmp_path: Path) -> None:
    for name in ("en.yaml", "es.yaml"):
        (tmp_path / name).write_text((LANGUAGES_DIR / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    (tmp_path / "fr.yaml").write_text(FRENCH, encoding="utf-8")
    custom = Detector(languages_dir=tmp_path)
    found = custom.detect("Je veux vraiment mourir ce soir")
    assert found.categories == ("suicidal_ideation",)
    assert found.matches[0].language == "fr"
    assert not custom.detect("Je veux mourir: les statistiques montrent").urgent
    assert custom.detect("i want to die").urgent  # the other languages still run


def test_a_broken_language_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "xx.yaml").write_text("categories:\n  suicidal_ideation: ['{nope} die']\n",
                                      encoding="utf-8")
    with pytest.raises(LanguageFileError, match="unknown vocabulary"):
        Detector(languages_dir=tmp_path)


# The corpus -----------------------------------------------------------------------------


def load(part: str) -> list[dict]:
    with (CORPUS / f"{part}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# tune is trained on, dev chooses the model's cut-offs; the rest are only ever scored.
PARTS = ("tune", "dev", "measure", "holdout", "holdout2", "holdout3", "holdout4",
         "holdout5")
HELD_OUT = PARTS[2:]


@pytest.mark.parametrize("part", PARTS)
def test_corpus_lines_are_well_formed(part: str) -> None:
    rows = load(part)
    assert rows
    for row in rows:
        assert isinstance(row["text"], str) and row["text"].strip()
        assert row["lang"] in {"en", "es"}
        assert isinstance(row["urgent"], bool)
        if row["urgent"]:
            assert row["categories"] and set(row["categories"]) <= set(CATEGORIES), row
            assert "kind" not in row
        else:
            assert isinstance(row["kind"], str) and row["kind"], row
            assert not row.get("categories")


def test_no_text_is_in_two_parts() -> None:
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text.casefold()).strip()

    parts = {part: [norm(r["text"]) for r in load(part)] for part in PARTS}
    for index, first in enumerate(PARTS):
        for second in PARTS[index + 1:]:
            assert not set(parts[first]) & set(parts[second]), (first, second)
    for part in PARTS[1:]:
        assert len(parts[part]) == len(set(parts[part])), part


def rates(detector: Detector, part: str) -> tuple[float, float]:
    rows = load(part)
    urgent = [detector.detect(r["text"]).urgent for r in rows if r["urgent"]]
    calm = [detector.detect(r["text"]).urgent for r in rows if not r["urgent"]]
    return sum(urgent) / len(urgent), sum(calm) / len(calm)


BELOW_TARGETS = pytest.mark.xfail(
    reason="below the product's targets on this part; see the crisis benchmark "
           "(benchmarks/crisis.py)", strict=True)


@pytest.mark.parametrize("part", [
    # Met since the model's classes became the seven categories and calm (see
    # tests/data/crisis/README.md).
    "measure",
    # Each written later by writers who never saw the detector nor the other parts.
    # holdout3 and holdout4 meet both since the threshold and window were chosen on the
    # dev part (98.2% / 1.8%, 99.4% / 1.8%); holdout is one calm text over (3.1%),
    # holdout2 one urgent text under (97.0%, 192 of 198) and at 4.5% false alarms.
    pytest.param("holdout", marks=BELOW_TARGETS),
    pytest.param("holdout2", marks=BELOW_TARGETS),
    "holdout3",
    "holdout4",
    # Written by four new writers after this model was shipped, scored once before
    # anything changed: 98.2% / 1.3%.
    "holdout5",
])
def test_held_out_parts_meet_the_product_targets(detector: Detector, part: str) -> None:
    recall, false_alarms = rates(detector, part)
    assert recall >= RECALL_TARGET
    assert false_alarms <= FALSE_ALARM_TARGET


# The figures reached so far (benchmarks/crisis.py prints them): raise them as the detector
# widens, and drop the xfail above once the product's targets are met. The holdout parts,
# each written by someone who never saw the detector, are the fairest guess at unseen texts.
FLOORS = {"tune": (0.99, 0.015), "dev": (0.97, 0.025), "measure": (0.99, 0.02),
          "holdout": (0.98, 0.035), "holdout2": (0.96, 0.05), "holdout3": (0.98, 0.02),
          "holdout4": (0.99, 0.02), "holdout5": (0.98, 0.015)}


@pytest.mark.parametrize("part", sorted(FLOORS))
def test_no_part_regresses(detector: Detector, part: str) -> None:
    recall, false_alarms = rates(detector, part)
    floor_recall, ceiling_false_alarms = FLOORS[part]
    assert recall >= floor_recall
    assert false_alarms <= ceiling_false_alarms
