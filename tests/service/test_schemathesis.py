"""Property-based checks of the live service against its own OpenAPI (schemathesis, bounded)."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from twitchrules.service import ServiceConfig, create_app

from .conftest import LiveServer

EXAMPLES_PER_OPERATION = int(os.environ.get("TWITCHRULES_FUZZ_EXAMPLES", "25"))
"""The fixed budget per operation in CI; TWITCHRULES_FUZZ_EXAMPLES asks for a longer hunt."""


def test_api_conforms_to_its_openapi(tmp_path, starter_loaded) -> None:
    """Generated requests to every operation never get a 5xx and match the documented schema."""
    server = LiveServer(create_app(ServiceConfig(audit_log=tmp_path / "audit.jsonl"),
                                   ruleset=starter_loaded)).start()
    try:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 5
        tried: dict[str, int] = {}
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            tried[label] = 0

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case) -> None:
                # Schema-valid is not FHIR-valid (prefetch holds arbitrary resources) and a
                # call without prefetch is 412 by the spec, so valid data may be refused.
                tried[label] += 1  # noqa: B023 - check() runs at once, inside this iteration
                case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])

            check()
    finally:
        server.stop()
    print("schemathesis examples per operation:", tried)  # the figures the docs report (pytest -s)
    assert all(tried.values()), tried
