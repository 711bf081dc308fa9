"""Ruleset loading: schema first, then semantic checks; errors name file, rule and field."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from twitchrules import RulesetError, is_valid_ruleset, load_ruleset
from twitchrules.ruleset import read_merged, ruleset_from_document

from .conftest import ROOT, STARTER


def _starter_document() -> dict[str, Any]:
    document, _ = read_merged(STARTER)
    return copy.deepcopy(document)


def _errors_of(document: dict[str, Any]) -> str:
    with pytest.raises(RulesetError) as caught:
        ruleset_from_document(document, path="broken.yaml")
    return caught.value.message


def test_starter_loads_with_name_version_and_hash() -> None:
    """A good ruleset loads with its name, version and a 64-hex sha256."""
    ruleset = load_ruleset(STARTER)
    assert ruleset.name == "twitching"
    assert re.fullmatch(r"\d+\.\d+\.\d+", ruleset.version)
    assert re.fullmatch(r"[0-9a-f]{64}", ruleset.sha256)
    assert ruleset.rules[0].file == "rules/10-derived.yaml"


def test_duplicate_rule_id_is_refused() -> None:
    """Two rules with one id are refused, naming the id."""
    document = _starter_document()
    document["rules"].append(copy.deepcopy(document["rules"][0]))
    assert "DUR-PERSISTS: id: duplicate rule id" in _errors_of(document)


def test_condition_on_unprovided_fact_is_refused() -> None:
    """A condition naming a fact nothing provides is refused, with a suggestion."""
    document = _starter_document()
    document["rules"][0]["when"] = {"fact": "duraton_days", "gt": 14}
    message = _errors_of(document)
    assert "DUR-PERSISTS: when (duraton_days)" in message
    assert "did you mean 'duration_days'" in message


def test_qualifier_the_contract_does_not_know_is_refused() -> None:
    """A ruleset may declare only the contract's qualifier pairs (the ones the case checks)."""
    document = _starter_document()
    document["definitions"]["qualifiers"] = {"weakness": ["weakness_progressive"],
                                             "numbness": ["tingling"]}
    assert ("definitions.qualifiers.numbness: 'tingling' is not a qualifier of 'numbness' "
            "in the contract") in _errors_of(document)


def test_unknown_conclusion_kind_is_refused() -> None:
    """A conclusion of an unknown kind is refused, naming the rule and position."""
    document = _starter_document()
    document["rules"][0]["then"].append({"prescribe": "aspirin"})
    assert "DUR-PERSISTS: then[1]: unknown conclusion kind 'prescribe'" in _errors_of(document)


def test_schema_error_names_rule_and_field() -> None:
    """A schema violation names the rule id and the field path."""
    document = _starter_document()
    del document["rules"][2]["provenance"]["author"]
    message = _errors_of(document)
    assert "RF-WASTING: provenance" in message
    assert "'author' is a required property" in message


def test_wrong_type_in_condition_is_refused() -> None:
    """A boolean fact compared with a word is refused."""
    document = _starter_document()
    document["rules"][2]["when"] = {"fact": "muscle_wasting", "is": "yes"}
    assert "'muscle_wasting' is true/false" in _errors_of(document)


def test_derived_fact_tested_negatively_is_refused() -> None:
    """Derived facts can only be tested with is: true (no negation as failure)."""
    document = _starter_document()
    document["rules"][4]["when"] = {"fact": "spreading", "is": False}
    assert "derived fact can only be tested with 'is: true'" in _errors_of(document)


def test_reviewed_without_reviewer_is_refused() -> None:
    """A rule cannot claim review without naming its reviewer."""
    document = _starter_document()
    document["rules"][0]["provenance"]["status"] = "reviewed"
    assert "needs a named reviewer" in _errors_of(document)


def test_unknown_passage_is_refused() -> None:
    """A citation must point at a passage the ruleset quotes."""
    document = _starter_document()
    document["rules"][0]["provenance"]["source"] = {"passage": "ART-NOWHERE"}
    assert "unknown passage 'ART-NOWHERE'" in _errors_of(document)


def test_broken_file_names_file(tmp_path: Path) -> None:
    """A file that is not valid YAML is named."""
    folder = tmp_path / "rs"
    shutil.copytree(STARTER, folder)
    (folder / "rules" / "20-red-flags.yaml").write_text("rules: [ {id: X\n", encoding="utf-8")
    with pytest.raises(RulesetError, match=r"rules/20-red-flags.yaml: is not valid YAML"):
        load_ruleset(folder)
    assert not is_valid_ruleset(folder)


def test_rule_in_file_is_named_on_schema_error(tmp_path: Path) -> None:
    """A schema error in a folder names the rule's own file."""
    folder = tmp_path / "rs"
    shutil.copytree(STARTER, folder)
    path = folder / "rules" / "30-checklist.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"][0]["version"] = "one"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RulesetError, match=r"rules/30-checklist.yaml: CL-PERSISTS: version"):
        load_ruleset(folder)


def test_hash_ignores_formatting_and_key_order(tmp_path: Path) -> None:
    """The same content as one JSON file, keys shuffled, has the same sha256."""
    document = _starter_document()
    shuffled = {key: document[key] for key in reversed(list(document))}
    path = tmp_path / "ruleset.json"
    path.write_text(json.dumps(shuffled, indent=7), encoding="utf-8")
    assert load_ruleset(path).sha256 == load_ruleset(STARTER).sha256


def test_hash_changes_when_content_changes(tmp_path: Path) -> None:
    """Changing one threshold changes the sha256."""
    document = _starter_document()
    document["rules"][0]["when"]["gt"] = 21
    path = tmp_path / "ruleset.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert load_ruleset(path).sha256 != load_ruleset(STARTER).sha256


def test_no_eval_or_exec_in_the_package() -> None:
    """Nothing in the package source calls eval or exec."""
    pattern = re.compile(r"\b(eval|exec)\s*\(")
    for path in (ROOT / "src" / "twitchrules").rglob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_bundled_ruleset_loads() -> None:
    """The bundled ruleset passes the schema and the semantic checks."""
    ruleset = load_ruleset()
    assert ruleset.name == "twitching"
    assert len(ruleset.rules) > 0
