"""The vocabulary: every fact, condition, rule and value has its words, in one place.

The contract's words (``src/twitchrules/case/words.yaml``) cover every input, computed fact,
region, side, level and value; the bundled ruleset's ``words`` cover every fact its rules
derive and every body segment; the Questionnaire asks each input in the same words.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from twitchrules import RulesetError, load_ruleset
from twitchrules.case import vocabulary as contract
from twitchrules.case.words import contract_words
from twitchrules.fhir.questionnaire import load_questionnaire
from twitchrules.ruleset.model import Ruleset

from .conftest import CASES_DIR, STARTER

BUNDLED = CASES_DIR.parent


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    """The bundled ruleset, loaded once."""
    return load_ruleset()


def _items(items: list[dict]) -> list[dict]:
    found = []
    for item in items:
        found.append(item)
        found += _items(item.get("item", []))
    return found


def test_bundled_ruleset_has_words_for_everything(ruleset: Ruleset) -> None:
    """Every input, computed and derived fact, segment, condition, rule and level has words."""
    assert ruleset.vocabulary.missing_words() == []


def test_words_cover_exactly_the_contract_inputs() -> None:
    """The contract words name every input of the contract and nothing else."""
    words = contract_words()
    inputs = {*contract.FINDINGS, "twitching.course", "twitching.relieved_by_rest"}
    assert set(words.inputs) == inputs
    assert set(words.regions) == set(contract.REGIONS)
    assert set(words.sides) == set(contract.SIDES)
    assert set(words.triage_levels) == set(contract.TRIAGE_LEVELS)
    assert set(words.checklist_status) == {"met", "not_met", "unknown"}
    for name, spec in contract.ENUM_FINDINGS.items():
        assert set(words.inputs[name].values) == set(spec)
    assert set(words.inputs["twitching.course"].values) == set(contract.COURSES) - {"unknown"}


def test_questionnaire_asks_each_input_in_the_vocabulary_words() -> None:
    """Each Questionnaire item's text is its input's question, word for word."""
    words = contract_words()
    items = {item["linkId"]: item for item in _items(load_questionnaire()["item"])}
    for name, entry in words.inputs.items():
        link_id = name if name.startswith("twitching.") else f"findings.{name}"
        assert link_id in items, f"the Questionnaire has no item for {name}"
        assert items[link_id]["text"] == entry.question, link_id
    for link_id, place in (("twitching.regions.region", words.regions),
                           ("twitching.regions.side", words.sides)):
        for option in items[link_id]["answerOption"]:
            coding = option["valueCoding"]
            assert coding["display"] == place[coding["code"]], coding


def test_values_read_as_words(ruleset: Ruleset) -> None:
    """Values are words: present, absent, unknown, a lab value with its flag."""
    vocabulary = ruleset.vocabulary
    assert vocabulary.value("weakness", True) == "present"
    assert vocabulary.value("weakness", False) == "absent"
    assert vocabulary.value("weakness", None) == "unknown"
    assert vocabulary.value("potassium_mmol_l", 3.1) == "3.1 mmol/L (low)"
    assert vocabulary.value("potassium_mmol_l", 2.4) == "2.4 mmol/L (critically low)"
    assert vocabulary.value("potassium_mmol_l", 4.2) == "4.2 mmol/L (in range)"
    assert vocabulary.value("b12_pmol_l", 200) == "200 pmol/L (indeterminate)"
    assert vocabulary.phrase("potassium_mmol_l", 3.1) == "potassium 3.1 mmol/L (low)"


def test_facts_read_as_clinical_phrases(ruleset: Ruleset) -> None:
    """Derived and computed facts read as the phrases of the issue."""
    vocabulary = ruleset.vocabulary
    assert vocabulary.phrase("segment_arms", True) == "twitching in the arms"
    assert vocabulary.phrase("segment_count", 2) == "twitching in 2 body regions"
    assert vocabulary.phrase("segment_count", 1) == "twitching in one body region"
    assert vocabulary.phrase("persists_over_2_weeks", True) == "twitching for more than 2 weeks"
    assert vocabulary.phrase("numbness", False) == "no numbness"
    assert vocabulary.phrase("course", "worsening") == "twitching getting worse"
    assert vocabulary.phrase("region_upper_arm", True) == "twitching in the upper arm"
    assert vocabulary.phrase("duration_days", 92) == "twitching for 92 days"
    assert vocabulary.condition_title("mmn") == "Multifocal motor neuropathy"
    assert vocabulary.rule_title("RF-SPREAD") == ruleset.rule("RF-SPREAD").title
    assert vocabulary.question("twitching.course") == contract_words().inputs["twitching.course"].question


def test_a_ruleset_without_words_reads_derived_facts_by_their_rule_titles() -> None:
    """A ruleset that gives no words still reads in words: a derived fact as its rule's title."""
    starter = load_ruleset(STARTER)
    vocabulary = starter.vocabulary
    assert "words" not in starter.data
    name = sorted(starter.derived_names)[0]
    title = starter.producers[name][0].title
    assert vocabulary.phrase(name, True).lower() == title.lower()
    assert any("has no phrase" in problem for problem in vocabulary.missing_words())


def _copy_bundled(tmp_path: Path) -> Path:
    folder = tmp_path / "twitching"
    shutil.copytree(BUNDLED, folder, ignore=shutil.ignore_patterns("releases", "tests"))
    return folder


def test_words_for_a_fact_no_rule_derives_are_refused(tmp_path: Path) -> None:
    """A phrase for a fact no rule asserts is a typo: refused, naming it, with a suggestion."""
    folder = _copy_bundled(tmp_path)
    path = folder / "words.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["words"]["facts"]["persists_over_2_week"] = "a typo"
    document["words"]["segments"]["torso"] = "the torso"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"words.facts.persists_over_2_week.*did you mean "
                                           r"'persists_over_2_weeks'") as raised:
        load_ruleset(folder)
    assert "words.segments.torso" in str(raised.value)


def test_evidence_naming_an_unknown_fact_is_refused(tmp_path: Path) -> None:
    """Evidence is read in words, so every finding it names must be a known fact."""
    folder = _copy_bundled(tmp_path)
    path = folder / "rules" / "60-differential.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("findings: [cramps]", "findings: [crampz]", 1), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"evidence.findings.*unknown fact 'crampz'.*'cramps'"):
        load_ruleset(folder)
