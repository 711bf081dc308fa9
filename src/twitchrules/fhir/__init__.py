"""FHIR R4 in: the assessment Questionnaire, the shipped code lists, and FHIR -> case.

``questionnaire`` is the shipped Questionnaire of the case contract; ``codes`` the code
lists (labs, diabetes, pregnancy, medicines, orderable tests); ``mapping`` reads one person's
FHIR resources into a contract case (with fhir.resources' R4B models: install
the ``service`` extra); ``build`` writes a case as FHIR resources, for examples and tests.
The mapping's names are imported on first use, so the rest works without the extra.

May import: ``twitchrules.case`` (the contract's words), ``twitchrules.errors``. FHIR out
(the GuidanceResponse) is an output: ``twitchrules.outputs.guidance``.
"""

from __future__ import annotations

from typing import Any

from twitchrules.fhir.build import bundle_from_case
from twitchrules.fhir.codes import OrderableTest, orderable_tests, orderables_for
from twitchrules.fhir.errors import FhirResourceError
from twitchrules.fhir.questionnaire import CODE_SYSTEM_URL, QUESTIONNAIRE_URL, load_questionnaire

_MAPPING_NAMES = ("MappedCase", "case_from_bundle", "case_from_resources", "parse_resource",
                  "resources_in")

__all__ = [
    "CODE_SYSTEM_URL",
    "QUESTIONNAIRE_URL",
    "FhirResourceError",
    "MappedCase",
    "OrderableTest",
    "bundle_from_case",
    "case_from_bundle",
    "case_from_resources",
    "load_questionnaire",
    "orderable_tests",
    "orderables_for",
    "parse_resource",
    "resources_in",
]


def __getattr__(name: str) -> Any:
    """The mapping's names, imported on first use (they need fhir.resources)."""
    if name in _MAPPING_NAMES:
        from twitchrules.fhir import mapping

        return getattr(mapping, name)
    raise AttributeError(f"module 'twitchrules.fhir' has no attribute {name!r}")
