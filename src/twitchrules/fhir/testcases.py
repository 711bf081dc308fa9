"""A ruleset's expected-outcome cases as FHIR R4 test-case Libraries, in the style of CRMI.

The CRMI implementation guide's testing page represents a test case as a ``Library`` of type
``test-case`` that names the artifact and the operation under test (``cqf-testArtifact``,
twice), its input parameters and input data (``cqf-inputParameters``, ``cqf-inputData``) and
the expected output parameters (``cqf-outputParameters``). Each case file becomes one such
Library (see ``docs/audit.md``, "Export the tests as FHIR"):

* ``cqf-testArtifact``: the ruleset, as ``urn:twitchrules:ruleset:<name>|<version>``, and
  the operation ``urn:twitchrules:operation:evaluate``;
* ``cqf-inputParameters``: a contained ``Parameters`` whose ``case`` is the contract case JSON;
* ``cqf-inputData``: a collection ``Bundle`` of the same case as an EHR holds it
  (``bundle_from_case``: Patient, QuestionnaireResponse, lab Observations ...), an entry of
  the export next to the Library (a contained resource may not hold others), referenced by
  its ``fullUrl``;
* ``cqf-outputParameters``: a contained ``Parameters`` with one parameter per ``expect`` key:
  a text, number or true/false as its value, a mapping as parts by key, a list as parts
  named ``item`` (an empty list as one part ``empty``), so a reader needs no knowledge of
  twitchrules to see what the result must show.

The export is plain FHIR JSON, deterministic (same case files, same bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from twitchrules.fhir.build import bundle_from_case

EXT = "http://hl7.org/fhir/StructureDefinition/"
OPERATION = "urn:twitchrules:operation:evaluate"


def ruleset_canonical(name: str, version: str) -> str:
    """The canonical (with version) the export names the ruleset under test by."""
    return f"urn:twitchrules:ruleset:{name}|{version}"


def _value(value: Any) -> dict[str, Any]:
    """A JSON value as a Parameters value, or parts: a mapping by key, a list as ``item`` parts."""
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    if isinstance(value, Mapping):
        return {"part": _parameters(value)}
    if isinstance(value, list):  # a parameter holds one value or parts, never nothing
        items = [{"name": "item", **_value(item)} for item in value]
        return {"part": items or [{"name": "empty", "valueBoolean": True}]}
    return {"valueString": str(value)}


def _parameters(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, **_value(value)} for name, value in mapping.items()]


def input_data(case_id: str, case: Mapping[str, Any], ruleset_name: str) -> dict[str, Any]:
    """The case as an EHR holds it: the collection Bundle a test-case Library names as input data."""
    bundle = bundle_from_case(case, patient_id=case_id, labs_as_observations=True,
                              history_as_resources=True)
    return {**bundle, "id": f"{case_id}-input-data"}


def _data_url(ruleset_name: str, case_id: str) -> str:
    return f"urn:twitchrules:ruleset:{ruleset_name}:test-case:{case_id}:input-data"


def case_file_library(case_id: str, title: str, source: str, case: Mapping[str, Any],
                      expect: Mapping[str, Any], ruleset_name: str, ruleset_version: str) -> dict[str, Any]:
    """One case file as a CRMI-style test-case Library (plain FHIR R4 JSON)."""
    artifact = ruleset_canonical(ruleset_name, ruleset_version)
    case_json = json.dumps(case, sort_keys=True, ensure_ascii=False)
    return {
        "resourceType": "Library",
        "id": case_id,
        "url": f"urn:twitchrules:ruleset:{ruleset_name}:test-case:{case_id}",
        "version": ruleset_version,
        "name": "".join(part.capitalize() for part in case_id.split("-")),
        "title": title,
        "status": "draft",
        "type": {"text": "test-case"},
        "description": f"Expected outcome of one case for ruleset {ruleset_name} {ruleset_version}. "
                       f"Source of the expectation: {source}",
        "relatedArtifact": [{"type": "depends-on", "resource": artifact}],
        "extension": [
            {"url": EXT + "cqf-testArtifact", "valueCanonical": artifact},
            {"url": EXT + "cqf-testArtifact", "valueUri": OPERATION},
            {"url": EXT + "cqf-inputParameters", "valueReference": {"reference": "#input"}},
            {"url": EXT + "cqf-inputData",
             "valueReference": {"reference": _data_url(ruleset_name, case_id)}},
            {"url": EXT + "cqf-outputParameters", "valueReference": {"reference": "#expected"}},
        ],
        "contained": [
            {"resourceType": "Parameters", "id": "input",
             "parameter": [{"name": "case", "valueString": case_json}]},
            {"resourceType": "Parameters", "id": "expected", "parameter": _parameters(expect)},
        ],
    }


def case_files_bundle(case_files: Sequence[Mapping[str, Any]], ruleset_name: str,
                      ruleset_version: str) -> dict[str, Any]:
    """Every case file (``id``, ``title``, ``source``, ``case``, ``expect``) as a collection Bundle.

    Per case, in case-file order: its test-case Library, then the Bundle of its input data.
    """
    entries: list[dict[str, Any]] = []
    for item in case_files:
        library = case_file_library(item["id"], item["title"], item["source"], item["case"],
                                    item["expect"], ruleset_name, ruleset_version)
        entries.append({"fullUrl": library["url"], "resource": library})
        entries.append({"fullUrl": _data_url(ruleset_name, item["id"]),
                        "resource": input_data(item["id"], item["case"], ruleset_name)})
    return {
        "resourceType": "Bundle",
        "id": f"{ruleset_name}-{ruleset_version}-test-cases".replace(".", "-"),
        "type": "collection",
        "entry": entries,
    }
