"""Next questions: unknown inputs ordered by what their answer could change, and when to stop.

Expectations read off the rules before running: on a benign calf case (self-care) the
unknown breathing difficulty (RF-BREATHING, immediate) is asked first; at immediate no
answer can raise the triage, so the questions stop.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from twitchrules import evaluate, load_ruleset, next_questions
from twitchrules.case.vocabulary import level_rank
from twitchrules.fhir import load_questionnaire

from .conftest import CASES_DIR


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data["case"]


def _questionnaire_texts() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found[item["linkId"]] = item.get("text", "")
            walk(item.get("item", []))

    walk(load_questionnaire()["item"])
    return found


def test_red_flag_first_then_the_differential() -> None:
    """Benign calf: breathing first; triage questions before differential ones, highest reach first."""
    asked = next_questions(_case("self-care-intense-exercise"))
    assert asked.questions[0].input == "breathing_difficulty"
    assert asked.questions[0].reach == "immediate" and not asked.should_stop
    kinds = [q.could_change for q in asked.questions]
    assert kinds == sorted(kinds, key=lambda kind: kind != "triage")
    reach = [level_rank(q.reach) for q in asked.questions if q.reach]
    assert reach == sorted(reach, reverse=True)


def test_question_text_is_the_questionnaires() -> None:
    """Each question is the Questionnaire item's text, word for word."""
    texts = _questionnaire_texts()
    for question in next_questions(_case("unknown-no-findings")).questions:
        link_id = question.input if "." in question.input else f"findings.{question.input}"
        assert question.text == texts[link_id]


def test_the_first_answer_changes_the_triage_on_the_engine() -> None:
    """The top question's 'yes', evaluated, raises the triage to the level it names."""
    case = _case("self-care-intense-exercise")
    top = next_questions(case).questions[0]
    case["findings"][top.input] = True
    assert evaluate(case).triage.level == top.reach


def test_should_stop_at_the_top_level() -> None:
    """At immediate nothing unknown can change the triage: stop asking."""
    asked = next_questions(_case("immediate-breathing-difficulty"))
    assert asked.should_stop and asked.triage_questions == []


def test_answering_every_triage_question_stops() -> None:
    """Once every triage question of the calf case is answered 'no' or in range, should_stop."""
    ruleset = load_ruleset()
    limits = ruleset.definitions.get("lab_limits", {})
    case = _case("self-care-intense-exercise")
    for _ in range(30):
        asked = next_questions(case)
        if asked.should_stop:
            break
        top = asked.triage_questions[0]
        fact = next(f for f, name in ruleset.input_names.items() if name == top.input)
        if ruleset.catalogue[fact].type == "boolean":
            case["findings"][top.input] = False
        else:  # a laboratory value in its reference interval (B12: above the indeterminate range)
            lab = limits[fact]
            normal = (lab["low"] + lab["high"]) / 2 if "high" in lab else lab["indeterminate_up_to"] + 100
            case["findings"][top.input] = round(normal, 2)
    assert asked.should_stop and evaluate(case).triage.level == "self-care"


@pytest.mark.parametrize("name", ["self-care-intense-exercise", "unknown-no-findings"])
def test_card_names_the_top_questions(name: str) -> None:
    """The CDS Hooks card's detail names the first questions that could change the triage."""
    pytest.importorskip("fastapi", reason="the card models come with twitchrules[service]")
    from twitchrules.service.cards import ASK_NEXT, summary_card

    case = _case(name)
    card = summary_card(evaluate(case), patient_id="p1", rules_url=None)
    top = [q.text for q in next_questions(case).triage_questions][:ASK_NEXT]
    line = next(line for line in card.detail.splitlines() if line.startswith("**Ask next**"))
    assert top and all(text in line for text in top)


def test_card_has_no_ask_next_when_nothing_can_change() -> None:
    """At immediate the card does not ask anything next."""
    pytest.importorskip("fastapi", reason="the card models come with twitchrules[service]")
    from twitchrules.service.cards import summary_card

    card = summary_card(evaluate(_case("immediate-breathing-difficulty")), patient_id="p1",
                        rules_url=None)
    assert "**Ask next**" not in card.detail
