"""FHIR R4 in and out of twitchrules: the assessment Questionnaire, code lists, FHIR -> case.

FHIR resources are parsed with fhir.resources' R4B models (install ``twitchrules[service]``).
"""

from twitchrules.fhir._build import bundle_from_case
from twitchrules.fhir._codes import OrderableTest, orderable_tests, orderables_for
from twitchrules.fhir._errors import FhirResourceError
from twitchrules.fhir._questionnaire import CODE_SYSTEM_URL, QUESTIONNAIRE_URL, load_questionnaire
from twitchrules.fhir.mapping import (
    MappedCase,
    case_from_bundle,
    case_from_resources,
    parse_resource,
    resources_in,
)

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
    "parse_resource",
    "resources_in",
    "orderables_for",
]
