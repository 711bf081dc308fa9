"""FHIR export: a result as an R4 GuidanceResponse, valid against fhir.resources' R4B models."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from twitchrules import evaluate, load_ruleset, next_questions
from twitchrules.conclusions import Notice
from twitchrules.outputs.html import render_html

from .conftest import CASES_DIR, STARTER, base_case, load_example
from .test_audit import cli

pytest.importorskip("fhir.resources", reason="fhir.resources comes with twitchrules[service]")

from fhir.resources.R4B.guidanceresponse import GuidanceResponse  # noqa: E402
from fhir.resources.R4B.operationoutcome import OperationOutcome  # noqa: E402
from fhir.resources.R4B.parameters import Parameters  # noqa: E402

from twitchrules.outputs.guidance import guidance_response, module_canonical  # noqa: E402

ALL_KNOWN = dict(weakness=False, muscle_wasting=False, numbness=False, tingling=False,
                 coordination_problems=False, slurred_speech=False, swallowing_difficulty=False,
                 weakness_progressive=False, weakness_asymmetric=False)


def _parts(parameter: dict) -> dict[str, list]:
    found: dict[str, list] = {}
    for part in parameter.get("part", []):
        value = next(v for k, v in part.items() if k.startswith("value") or k == "part")
        found.setdefault(part["name"], []).append(value)
    return found


def test_guidance_response_is_valid_r4_and_names_the_ruleset_version() -> None:
    """The resource validates, names the ruleset version as its module, and its parts too."""
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    resource = guidance_response(result, ruleset=load_ruleset(STARTER), subject="Patient/p1",
                                 occurrence="2026-11-20T10:00:00Z", request_identifier="hook-123")
    model = GuidanceResponse.model_validate(resource)
    assert model.moduleCanonical == "http://twitchrules.org/fhir/Library/twitching|0.1.0"
    assert model.moduleCanonical == module_canonical("twitching", result.ruleset.version)
    assert model.subject.reference == "Patient/p1"
    assert model.requestIdentifier.value == "hook-123"
    assert model.outputParameters.reference == "#output"
    output, messages = resource["contained"]
    Parameters.model_validate(output)
    OperationOutcome.model_validate(messages)
    assert {i["details"]["coding"][0]["code"] for i in messages["issue"]} == {"not-a-diagnosis"}
    by_name: dict[str, list[dict]] = {}
    for parameter in output["parameter"]:
        by_name.setdefault(parameter["name"], []).append(parameter)
    triage = _parts(by_name["triage"][0])
    assert triage["level"] == ["prompt"]
    assert triage["rule"] == result.triage.rules
    first = _parts(by_name["differential"][0])
    assert first["condition"][0]["code"] == result.differential[0].condition
    assert first["rank"] == [1] and first["score"] == [result.differential[0].score]
    ruleset = _parts(by_name["ruleset"][0])
    assert ruleset["sha256"] == [result.ruleset.sha256]
    assert [p["part"][0]["valueString"] for p in by_name["fired-rule"]] == [
        t.rule for t in result.trace]


def test_status_follows_what_the_missing_information_could_change() -> None:
    """Missing information: data-required when an answer could change the triage, else
    data-requested; one data requirement per input, in the order of next_questions."""
    for case in (load_example("mark.json"), *[json.loads(p.read_text(encoding="utf-8"))["case"]
                                              for p in sorted(CASES_DIR.glob("*.json"))[:12]]):
        result = evaluate(case)
        if not result.missing_information:
            continue
        asked = next_questions(case)
        resource = guidance_response(result)
        assert resource["status"] == ("data-requested" if asked.should_stop else "data-required")
        assert [r["mustSupport"][0] for r in resource["dataRequirement"]] == [
            f"item.where(linkId='{_linkid(q.input)}').answer" for q in asked.questions]
        assert sorted(q.input for q in asked.questions) == sorted(
            m.input for m in result.missing_information)
        GuidanceResponse.model_validate(resource)


def _linkid(name: str) -> str:
    return name if "." in name else f"findings.{name}"


def test_status_is_success_when_nothing_is_missing() -> None:
    """With every deciding input known the status is success and no data is requested."""
    result = evaluate(base_case(**ALL_KNOWN), ruleset=STARTER)
    assert result.missing_information == []
    resource = guidance_response(result, ruleset=load_ruleset(STARTER))
    assert resource["status"] == "success"
    assert "dataRequirement" not in resource
    GuidanceResponse.model_validate(resource)


def test_same_result_gives_same_resource() -> None:
    """Without an occurrence time the export is deterministic (same id, same bytes)."""
    starter = load_ruleset(STARTER)
    first = guidance_response(evaluate(load_example("mark.json"), ruleset=starter), ruleset=starter)
    second = guidance_response(evaluate(load_example("mark.json"), ruleset=starter), ruleset=starter)
    assert json.dumps(first) == json.dumps(second)


def test_cli_format_fhir_prints_the_resource() -> None:
    """evaluate --format fhir prints one valid GuidanceResponse."""
    code, out, err = cli("evaluate", "mark.json", "--ruleset", str(STARTER), "--format", "fhir")
    assert code == 0, err
    resource = json.loads(out)
    assert resource["resourceType"] == "GuidanceResponse"
    GuidanceResponse.model_validate(resource)


def test_minor_gets_a_warning_issue() -> None:
    """The outside-intended-population notice becomes a warning issue; not-a-diagnosis info."""
    result = evaluate(base_case(**ALL_KNOWN), ruleset=STARTER)
    notices = [Notice(code="outside-intended-population", message="Under 18."),
               *result.notices]
    resource = guidance_response(result.model_copy(update={"notices": notices}),
                                 ruleset=load_ruleset(STARTER))
    issues = {i["details"]["coding"][0]["code"]: i["severity"]
              for i in resource["contained"][1]["issue"]}
    assert issues == {"outside-intended-population": "warning", "not-a-diagnosis": "information"}
    assert resource["note"][0]["text"] == "Under 18."  # the words, not the code
    GuidanceResponse.model_validate(resource)


CASE_FILES = sorted(CASES_DIR.glob("*.json"))


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_test_case_exports_valid_fhir_and_html(case_file: Path) -> None:
    """Every case file of the bundled ruleset on the bundled ruleset exports a valid resource and a page."""
    case = json.loads(case_file.read_text(encoding="utf-8"))["case"]
    result = evaluate(case)
    resource = guidance_response(result)
    GuidanceResponse.model_validate(resource)
    assert resource["moduleCanonical"].endswith(f"|{result.ruleset.version}")
    assert resource["status"] in (("data-requested", "data-required") if result.missing_information
                                  else ("success",))
    page = render_html(result, load_ruleset())
    assert html.escape(result.triage.timeframe) in page
    assert resource["text"]["status"] == "generated"
    assert html.escape(result.triage.timeframe) in resource["text"]["div"]
    for entry in result.differential:
        assert html.escape(entry.title) in resource["text"]["div"]
