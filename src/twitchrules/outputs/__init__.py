"""Outputs: a result -> what a person or a system reads (text, JSON, HTML, FHIR GuidanceResponse),
and the JSON Schemas of the case and the result.

May import: ``twitchrules.conclusions`` (the result), ``twitchrules.ruleset`` (to quote
sources), ``twitchrules.case`` (for the schemas), ``twitchrules.templates``. The FHIR
GuidanceResponse is built as plain FHIR JSON, so no output needs the service extra.
"""

from __future__ import annotations

import json

from ..conclusions import Result
from ..ruleset.model import Ruleset
from .guidance import guidance_response
from .html import render_html
from .schemas import case_schema, rendered_schemas, result_schema, write_schemas
from .text import render_text

RESULT_FORMATS: tuple[str, ...] = ("text", "json", "html", "fhir")
"""The formats ``render_result`` writes."""

__all__ = [
    "RESULT_FORMATS",
    "case_schema",
    "guidance_response",
    "render_html",
    "render_result",
    "render_text",
    "rendered_schemas",
    "result_schema",
    "write_schemas",
]


def render_result(result: Result, output_format: str, ruleset: Ruleset | None = None) -> str:
    """A result in one of ``RESULT_FORMATS``; the ``Ruleset`` behind it lets HTML quote sources."""
    if output_format == "json":
        return result.to_json() + "\n"
    if output_format == "html":
        return render_html(result, ruleset)
    if output_format == "fhir":
        return json.dumps(guidance_response(result, ruleset=ruleset), indent=2, ensure_ascii=False) + "\n"
    if output_format == "text":
        return render_text(result, ruleset)
    raise ValueError(f"unknown format {output_format!r} (known: {', '.join(RESULT_FORMATS)})")
