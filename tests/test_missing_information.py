"""Three-valued logic: unknown is not false, and missing_information lists what would matter."""

from __future__ import annotations

import copy
from pathlib import Path

from twitchrules import evaluate
from twitchrules.ruleset import read_merged, ruleset_from_document

from .conftest import STARTER, base_case

RED_FLAGS = ["weakness", "muscle_wasting", "numbness", "tingling", "coordination_problems",
             "slurred_speech", "swallowing_difficulty"]


def _all_absent(**extra: object) -> dict:
    return base_case(**{name: False for name in RED_FLAGS}, **extra)


def test_unknown_red_flags_block_self_care(starter_ruleset: Path) -> None:
    """With red flags unknown the triage is monitor, never self-care, and they are listed."""
    result = evaluate(base_case(), ruleset=starter_ruleset)
    assert result.triage.level == "monitor"
    missing = [m.input for m in result.missing_information]
    assert set(RED_FLAGS) <= set(missing)


def test_known_absent_red_flags_allow_self_care(starter_ruleset: Path) -> None:
    """With every red flag known absent, a short single-site twitch is self-care."""
    result = evaluate(_all_absent(), ruleset=starter_ruleset)
    assert result.triage.level == "self-care"
    assert not set(RED_FLAGS) & {m.input for m in result.missing_information}


def test_one_unknown_red_flag_is_named(starter_ruleset: Path) -> None:
    """Leaving one red flag unknown blocks self-care and names exactly that input."""
    case = _all_absent()
    del case["findings"]["tingling"]
    result = evaluate(case, ruleset=starter_ruleset)
    assert result.triage.level == "monitor"
    assert "tingling" in [m.input for m in result.missing_information]
    assert not (set(RED_FLAGS) - {"tingling"}) & {m.input for m in result.missing_information}


def test_known_inputs_are_never_listed(starter_ruleset: Path) -> None:
    """An input the case gives is not missing."""
    result = evaluate(base_case(weakness=True), ruleset=starter_ruleset)
    assert "weakness" not in [m.input for m in result.missing_information]


def test_inputs_that_change_nothing_are_not_listed(starter_ruleset: Path) -> None:
    """An unknown input no undecided rule would act on is not listed."""
    result = evaluate(base_case(), ruleset=starter_ruleset)
    listed = {m.input for m in result.missing_information}
    assert "tremor" not in listed and "vision_changes" not in listed


def test_input_irrelevant_once_triage_is_higher(starter_ruleset: Path) -> None:
    """Once wasting sets immediate, unknown self-care inputs no longer change the triage."""
    result = evaluate(base_case(muscle_wasting=True), ruleset=starter_ruleset)
    assert result.triage.level == "immediate"
    assert "numbness" not in {m.input for m in result.missing_information}


def test_missing_input_found_through_a_chain() -> None:
    """An unknown input two rules upstream of a triage rule is listed (derived fact, counter)."""
    document, _ = read_merged(STARTER)
    document = copy.deepcopy(document)
    document["rules"] = [rule for rule in document["rules"] if rule["id"] != "RF-SPREAD"]
    ruleset = ruleset_from_document(document)
    case = base_case(weakness=False, muscle_wasting=False)
    case["twitching"]["regions"] = [
        {"region": "forearm", "side": "right", "since": "2026-08-20"},
        {"region": "thigh", "side": "left", "since": "2026-11-01"},
    ]
    result = evaluate(case, ruleset=ruleset)
    assert result.checklist.count == 1
    relief = [m for m in result.missing_information if m.input == "twitching.relieved_by_rest"]
    assert relief and "CL-REFERRAL" in relief[0].rules
    case["twitching"]["relieved_by_rest"] = False
    decided = evaluate(case, ruleset=ruleset)
    assert decided.triage.level == "prompt" and "CL-REFERRAL" in decided.triage.rules


def test_qualifiers_follow_a_known_absent_parent() -> None:
    """With weakness known absent, its qualifiers are not asked for; with it unknown they may be."""
    persistent = base_case(weakness=False)
    persistent["twitching"]["regions"][0]["since"] = "2026-08-01"
    listed = {m.input for m in evaluate(persistent).missing_information}
    assert not {"weakness_progressive", "weakness_asymmetric"} & listed
    del persistent["findings"]["weakness"]
    unknown = {m.input for m in evaluate(persistent).missing_information}
    assert "weakness" in unknown


def test_missing_information_lists_what_to_ask_first() -> None:
    """Inputs that could change the triage come first, the highest reachable level first."""
    missing = evaluate(base_case()).missing_information
    reach = [max((level for level in ("self-care", "monitor", "prompt", "urgent", "immediate")
                  if f"could make the triage {level} " in m.why), key=_rank, default=None)
             for m in missing]
    ranks = [-1 if level is None else _rank(level) for level in reach]
    assert ranks == sorted(ranks, reverse=True)
    assert ranks[0] == _rank("immediate") and ranks[-1] == -1


def _rank(level: str) -> int:
    return ("self-care", "monitor", "prompt", "urgent", "immediate").index(level)


def test_prepared_atoms_blame_as_kleene_does() -> None:
    """Over a synthetic cohort, every undecided rule's blame judged from the plan's prepared
    atoms (one-level conditions) is the blame ``kleene`` gives its whole condition tree."""
    from twitchrules import Case, load_ruleset
    from twitchrules.case import build_facts
    from twitchrules.conclusions.missing import _Judge
    from twitchrules.conclusions.plan import plan_of
    from twitchrules.engine import get_backend
    from twitchrules.population import cohort_cases
    from twitchrules.ruleset.conditions import UNKNOWN, kleene

    ruleset = load_ruleset()
    backend, plans = get_backend(ruleset, "clips"), plan_of(ruleset).rules
    judged = 0
    for data in cohort_cases(150, seed=11):
        facts = build_facts(Case.model_validate(data), ruleset.fact_definitions)
        run = backend.run(facts)
        for index in sorted(run.possible.difference(run.fired)):
            rule = ruleset.rules[index]
            if plans[index].flat is None:
                continue
            reference = _Judge(ruleset, run, facts)
            value, found = kleene(rule.condition, reference.knowledge)
            assert _Judge(ruleset, run, facts).blame(rule) == (found if value == UNKNOWN
                                                               else frozenset()), rule.id
            judged += 1 if found else 0
    assert judged > 100


def test_engine_verdicts_are_the_three_valued_values() -> None:
    """Every rule the engine fires is true in three-valued logic, every rule it leaves
    possible but unfired is unknown, and every other rule is false (over every case file and
    a synthetic cohort, on each engine): missing information reads an undecided rule's blame
    from this agreement."""
    import json

    from twitchrules import Case, load_ruleset
    from twitchrules.case import build_facts
    from twitchrules.conclusions.missing import _Judge
    from twitchrules.engine import available_engines, get_backend
    from twitchrules.population import cohort_cases
    from twitchrules.ruleset.conditions import FALSE, TRUE, UNKNOWN, kleene

    from .conftest import CASES_DIR

    ruleset = load_ruleset()
    cases = [json.loads(path.read_text(encoding="utf-8"))["case"]
             for path in sorted(CASES_DIR.glob("*.json"))]
    cases += list(cohort_cases(150, seed=5)) + list(cohort_cases(50, seed=6, mix="neurology"))
    engines = [name for name in ("clips", "durable") if name in available_engines()]
    seen = {TRUE: 0, UNKNOWN: 0, FALSE: 0}
    for engine in engines:
        backend = get_backend(ruleset, engine)
        for data in cases:
            facts = build_facts(Case.model_validate(data), ruleset.fact_definitions)
            run = backend.run(facts)
            knowledge = _Judge(ruleset, run, facts).knowledge
            for rule in ruleset.rules:
                verdict = (TRUE if rule.index in run.fired else
                           UNKNOWN if rule.index in run.possible else FALSE)
                assert kleene(rule.condition, knowledge)[0] == verdict, (engine, rule.id, data)
                seen[verdict] += 1
    assert all(seen.values())
