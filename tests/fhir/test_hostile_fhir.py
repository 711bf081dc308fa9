"""Hostile FHIR shapes given to the mapping (issue 17, items 1 and 7): named errors, never a crash."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from twitchrules import CaseError, case_from_mapping
from twitchrules.fhir import FhirResourceError, case_from_bundle, case_from_resources, resources_in

from ..conftest import base_case
from ..service.hookdata import resources_for


def nested_groups(depth: int) -> dict[str, Any]:
    """A findings group nested ``depth`` groups deep, holding one answer at the bottom."""
    top: dict[str, Any] = {"linkId": "findings", "item": []}
    inner = top
    for _ in range(depth):
        child: dict[str, Any] = {"linkId": "findings", "item": []}
        inner["item"].append(child)
        inner = child
    inner["item"].append({"linkId": "findings.weakness", "answer": [{"valueBoolean": True}]})
    return top


def with_response(change: Any) -> list[dict[str, Any]]:
    """The resources of a plain case, the QuestionnaireResponse changed by ``change``."""
    resources = resources_for(base_case(sleep_hours=7), "p1")
    for resource in resources:
        if resource["resourceType"] == "QuestionnaireResponse":
            change(resource)
    return resources


@pytest.mark.parametrize("depth", [120, 400, 5000])
def test_deeply_nested_groups_are_refused_by_name(depth: int) -> None:
    """Groups nested 120+ deep raise FhirResourceError naming the response, never RecursionError."""
    resources = with_response(lambda qr: qr["item"].append(nested_groups(depth)))
    with pytest.raises(FhirResourceError, match="nested deeper") as caught:
        case_from_resources(resources, patient_id="p1")
    assert caught.value.resource == "QuestionnaireResponse/p1-assessment"


def test_shallow_nested_groups_still_read() -> None:
    """A few levels of groups (as a real form may have) are read as before."""
    resources = with_response(lambda qr: qr["item"].append(nested_groups(3)))
    mapped = case_from_resources(resources, patient_id="p1")
    assert mapped.case is not None
    assert mapped.case["findings"]["weakness"] is True


def test_bundles_nested_deep_are_refused() -> None:
    """A Bundle of a Bundle of ... 5,000 deep is refused, not recursed into."""
    bundle: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    for _ in range(5000):
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bundle}]}
    with pytest.raises(FhirResourceError, match="nested deeper"):
        resources_in(bundle)


@pytest.mark.parametrize("value", [1e-320, 5e-324])
def test_tiny_value_decimal_maps_and_is_refused_by_the_case_model(value: float) -> None:
    """A legal but subnormal valueDecimal maps through, and the case check names its field."""
    def tiny(qr: dict[str, Any]) -> None:
        findings = next(item for item in qr["item"] if item["linkId"] == "findings")
        findings["item"][0]["answer"] = [{"valueDecimal": value}]

    mapped = case_from_resources(with_response(tiny), patient_id="p1")
    assert mapped.case is not None
    with pytest.raises(CaseError, match="findings.sleep_hours"):
        case_from_mapping(mapped.case)


@pytest.mark.parametrize("hostile", [
    [], "a string", 42, None, {"resourceType": "Bundle", "entry": "x"},
    {"resourceType": "Bundle", "entry": [1, "x", None, {"resource": []}]},
    {"resourceType": 7}, {"resourceType": "NotAType"},
])
def test_bundle_shapes_that_are_not_fhir_are_named(hostile: Any) -> None:
    """Arrays, strings and broken Bundles give FhirResourceError (or nothing), never another error."""
    try:
        mapped = case_from_bundle(copy.deepcopy(hostile))  # type: ignore[arg-type]
    except FhirResourceError:
        return
    assert mapped.case is None
