"""FHIR out: a result -> a FHIR R4 ``GuidanceResponse`` naming the ruleset version as its module.

The resource is built as plain FHIR R4 JSON (a ``dict``); the tests validate it with
fhir.resources' R4B models. How the result maps:

* ``moduleCanonical``: the ruleset as a knowledge artifact,
  ``http://twitchrules.org/fhir/Library/<name>|<version>`` (canonical URL plus version);
  the ruleset's sha256 is in the ``identifier`` list as well as in the output parameters.
* ``status``: ``success`` when ``missing_information`` is empty; ``data-required`` when an
  unknown input's answer could change the triage (the next questions, as
  ``twitchrules.next_questions`` orders them); otherwise ``data-requested`` ("processed
  successfully, but more data may result in a more complete evaluation"): the unknown
  inputs could change only the differential. ``dataRequirement`` names each missing input
  as the Questionnaire item that asks it, in the order to ask them (those that could change
  the triage first, highest reachable level first).
* ``outputParameters`` points at a contained ``Parameters`` resource (``#output``) holding
  the triage, the differential, the checklist, the recommendations, the missing information,
  the ruleset and the fired rules, each with the rules behind it.
* ``evaluationMessage`` points at a contained ``OperationOutcome`` (``#messages``) holding
  the notices (``not-a-diagnosis`` always; ``outside-intended-population`` under 18).
* ``reasonCode``: fasciculation (ICD-10-CM R25.3), the reason guidance was sought.
* ``text``: the narrative a person reads (``status: generated``), in the vocabulary's words
  (``outputs.reading``): triage, differential with support in words, the questions to
  ask and the checklist; ids stay in the structured elements.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from ..conclusions import Result
from ..ruleset.model import Ruleset
from ..templates import environment
from .reading import Question, read_result

BASE_URL = "http://twitchrules.org/fhir"
"""Base of the package's own canonical URLs (identifiers; they need not resolve)."""

CONDITION_SYSTEM = f"{BASE_URL}/CodeSystem/conditions"
"""Code system of the contract's differential condition ids (``bfs``, ``mmn`` ...)."""
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def _status(questions: list[Question]) -> str:
    """``data-required`` when an answer could change the triage, ``data-requested`` when it
    could change only the differential, ``success`` when nothing unknown matters."""
    if any(question.reach for question in questions):
        return "data-required"
    return "data-requested" if questions else "success"


def module_canonical(name: str, version: str) -> str:
    """The canonical reference of a ruleset version, e.g. ``.../Library/twitching|1.0.0``."""
    return f"{BASE_URL}/Library/{name}|{version}"


def _p(name: str, **value: Any) -> dict[str, Any]:
    return {"name": name, **value}


def _strings(name: str, values: list[str]) -> list[dict[str, Any]]:
    return [_p(name, valueString=value) for value in values]


def _output_parameters(result: Result) -> dict[str, Any]:
    triage = result.triage
    parameters: list[dict[str, Any]] = [
        _p("ruleset", part=[_p("name", valueString=result.ruleset.name),
                            _p("version", valueString=result.ruleset.version),
                            _p("sha256", valueString=result.ruleset.sha256)]),
        _p("triage", part=[_p("level", valueCode=triage.level),
                           _p("timeframe", valueString=triage.timeframe),
                           *_strings("reason", triage.reasons),
                           *_strings("rule", triage.rules)]),
    ]
    for entry in result.differential:
        parameters.append(_p("differential", part=[
            _p("condition", valueCoding={"system": CONDITION_SYSTEM, "code": entry.condition,
                                         "display": entry.title}),
            _p("rank", valueInteger=entry.rank),
            _p("score", valueDecimal=entry.score),
            *_strings("for", entry.for_), *_strings("against", entry.against),
            *_strings("test", entry.tests), *_strings("rule", entry.rules),
        ]))
    checklist = result.checklist
    parameters.append(_p("checklist", part=[
        _p("count", valueInteger=checklist.count),
        _p("threshold", valueInteger=checklist.threshold),
        _p("referral", valueBoolean=checklist.referral),
        *[_p("item", part=[_p("id", valueString=item.id), _p("text", valueString=item.text),
                           _p("status", valueCode=item.status.replace("_", "-")),
                           *_strings("rule", item.rules)])
          for item in checklist.items],
    ]))
    for rec in result.recommendations:
        parameters.append(_p("recommendation", part=[
            _p("id", valueString=rec.id), _p("text", valueString=rec.text),
            _p("source", valueString=rec.source), *_strings("rule", rec.rules)]))
    for missing in result.missing_information:
        parameters.append(_p("missing-information", part=[
            _p("input", valueString=missing.input), _p("why", valueString=missing.why),
            *_strings("rule", missing.rules)]))
    for fired in result.trace:
        parameters.append(_p("fired-rule", part=[
            _p("rule", valueString=fired.rule), _p("version", valueString=fired.version),
            _p("source", valueString=fired.source)]))
    return {"resourceType": "Parameters", "id": "output", "parameter": parameters}


def _messages(result: Result) -> dict[str, Any]:
    issues = [{
        "severity": "warning" if notice.code == "outside-intended-population" else "information",
        "code": "informational",
        "details": {"coding": [{"system": f"{BASE_URL}/CodeSystem/notices", "code": notice.code}],
                    "text": notice.message},
    } for notice in result.notices]
    if not issues:  # OperationOutcome needs one issue; the contract always has not-a-diagnosis
        issues = [{"severity": "information", "code": "informational",
                   "details": {"text": "No notices."}}]
    return {"resourceType": "OperationOutcome", "id": "messages", "issue": issues}


def _input_linkid(name: str) -> str:
    return name if name.startswith("twitching.") else f"findings.{name}"


def narrative(result: Result, ruleset: Ruleset | None = None) -> dict[str, str]:
    """The GuidanceResponse's ``text``: a FHIR Narrative (XHTML) in the vocabulary's words."""
    div = environment().get_template("guidance.xhtml.j2").render(
        reading=read_result(result, ruleset), result=result)
    return {"status": "generated", "div": "".join(line.strip() for line in div.splitlines())}


def guidance_response(
    result: Result,
    *,
    ruleset: Ruleset | None = None,
    subject: str | None = None,
    occurrence: str | None = None,
    request_identifier: str | None = None,
) -> dict[str, Any]:
    """The result as a FHIR R4 ``GuidanceResponse`` (JSON as a dict).

    Args:
        result: the evaluated result.
        ruleset: the ruleset that produced it, for the narrative's words (when ``None``, the
            bundled ruleset or the release with the result's hash).
        subject: a reference such as ``"Patient/123"``; omitted when ``None``.
        occurrence: the FHIR dateTime of the evaluation; omitted when ``None`` so that the
            same result always gives the same resource.
        request_identifier: the caller's request id (e.g. a CDS Hooks ``hookInstance``).
    """
    questions = [question for group in read_result(result, ruleset).questions
                 for question in group.questions]
    digest = hashlib.sha256(result.to_json(indent=None).encode("utf-8")).hexdigest()
    response: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": f"twitchrules-{digest[:16]}",
        "text": narrative(result, ruleset),
        "contained": [_output_parameters(result), _messages(result)],
        "identifier": [
            {"system": "urn:ietf:rfc:3986",
             "value": f"urn:uuid:{uuid.UUID(digest[:32], version=5)}"},
            {"system": f"{BASE_URL}/ruleset-sha256", "value": result.ruleset.sha256},
        ],
        "moduleCanonical": module_canonical(result.ruleset.name, result.ruleset.version),
        "status": _status(questions),
        "reasonCode": [{"coding": [{"system": ICD10CM, "code": "R25.3",
                                    "display": "Fasciculation"}],
                        "text": "Muscle twitching (fasciculation)"}],
        "performer": {"display": f"twitchrules {result.package_version} "
                                 f"({result.engine.name} {result.engine.version})"},
        "note": [{"text": n.message} for n in result.notices],
        "evaluationMessage": [{"reference": "#messages"}],
        "outputParameters": {"reference": "#output"},
    }
    if request_identifier is not None:
        response["requestIdentifier"] = {"value": request_identifier}
    if subject is not None:
        response["subject"] = {"reference": subject}
    if occurrence is not None:
        response["occurrenceDateTime"] = occurrence
    if questions:
        response["dataRequirement"] = [
            {"type": "QuestionnaireResponse",
             "mustSupport": [f"item.where(linkId='{_input_linkid(question.input)}').answer"]}
            for question in questions
        ]
    if not response["note"]:
        del response["note"]
    return response
