"""The ``twitchrules fhir`` commands through the installed console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from twitchrules.fhir import QUESTIONNAIRE_URL, bundle_from_case

from ..conftest import base_case
from ..test_cli import run


def _to_case(tmp_path: Path, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`fhir to-case` of ``document`` written to a file."""
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(document))
    return run("fhir", "to-case", str(bundle))


def _findings_group(document: dict[str, Any]) -> dict[str, Any]:
    """The ``findings`` group of the Bundle's QuestionnaireResponse."""
    response = next(e["resource"] for e in document["entry"]
                    if e["resource"]["resourceType"] == "QuestionnaireResponse")
    group: dict[str, Any] = next(i for i in response["item"] if i["linkId"] == "findings")
    return group


def test_questionnaire_is_printed() -> None:
    """`fhir questionnaire` prints the shipped Questionnaire as JSON."""
    done = run("fhir", "questionnaire")
    assert done.returncode == 0, done.stderr
    questionnaire = json.loads(done.stdout)
    assert questionnaire["url"] == QUESTIONNAIRE_URL
    assert questionnaire["version"]


def test_to_case_prints_the_mapped_case(tmp_path: Path) -> None:
    """`fhir to-case BUNDLE.json` prints the case the Bundle maps to."""
    case = base_case(weakness=False, caffeine_mg_per_day=300)
    done = _to_case(tmp_path, bundle_from_case(case))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == case


def test_to_case_bad_resource_exits_2_naming_it(tmp_path: Path) -> None:
    """A resource that does not parse: exit 2, the message names type, id and field."""
    document = bundle_from_case(base_case(), patient_id="p9")
    document["entry"][0]["resource"]["birthDate"] = "1984-13-45"
    done = _to_case(tmp_path, document)
    assert done.returncode == 2
    assert "Patient/p9.birthDate" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_to_case_invalid_case_exits_2_naming_the_field(tmp_path: Path) -> None:
    """A Bundle whose case breaks the contract: exit 2 naming the case field."""
    case = base_case()
    case["twitching"]["regions"][0]["since"] = "2027-01-01"
    done = _to_case(tmp_path, bundle_from_case(case))
    assert done.returncode == 2
    assert "twitching.regions[0].since" in done.stderr


def test_to_case_item_answered_twice_exits_2_naming_it(tmp_path: Path) -> None:
    """An item answered twice (true, then false): exit 2 naming the linkId, nothing printed."""
    document = bundle_from_case(base_case(weakness=False), patient_id="p9")
    findings = _findings_group(document)
    findings["item"] += [
        {"linkId": "findings.breathing_difficulty", "answer": [{"valueBoolean": True}]},
        {"linkId": "findings.breathing_difficulty", "answer": [{"valueBoolean": False}]},
    ]
    done = _to_case(tmp_path, document)
    assert done.returncode == 2
    assert "item 'findings.breathing_difficulty' is answered more than once" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_to_case_qualifier_contradicting_its_parent_exits_2(tmp_path: Path) -> None:
    """A Bundle answering no weakness and progressive weakness: exit 2 naming both fields."""
    document = bundle_from_case(base_case(weakness=False, weakness_progressive=False))
    findings = _findings_group(document)
    progressive = next(i for i in findings["item"]
                       if i["linkId"] == "findings.weakness_progressive")
    progressive["answer"] = [{"valueBoolean": True}]
    done = _to_case(tmp_path, document)
    assert done.returncode == 2
    assert ("findings.weakness_progressive: true contradicts findings.weakness: false"
            in done.stderr)
    assert done.stdout == ""


def test_to_case_not_json_exits_2(tmp_path: Path) -> None:
    """Input that is not JSON says so, exit 2."""
    bundle = tmp_path / "bundle.json"
    bundle.write_text("{nope")
    done = run("fhir", "to-case", str(bundle))
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr
