"""Outputs: a result -> what a person or a system reads (text, JSON, HTML, FHIR GuidanceResponse),
and the JSON Schemas of the case and the result.

May import: ``twitchrules.conclusions`` (the result), ``twitchrules.ruleset`` (to quote
sources), ``twitchrules.case`` (for the schemas), ``twitchrules.templates``. The FHIR
GuidanceResponse is built as plain FHIR JSON, so no output needs the service extra.

Each format's module is imported when that format is first written (PEP 562 for the names
below): the JSON of a result needs none of them, nor the templates.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..conclusions import Result
    from ..ruleset.model import Ruleset
    from .guidance import guidance_response
    from .html import render_html
    from .schemas import case_schema, rendered_schemas, result_schema, write_schemas
    from .text import render_text

RESULT_FORMATS: tuple[str, ...] = ("text", "json", "html", "fhir")
"""The formats ``render_result`` writes."""

_LAZY: dict[str, str] = {  # name -> the module of this package it is imported from
    "guidance_response": "guidance",
    "render_html": "html",
    "render_text": "text",
    **dict.fromkeys(("case_schema", "rendered_schemas", "result_schema", "write_schemas"),
                    "schemas"),
}

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


def __getattr__(name: str) -> Any:
    """A format's function, its module imported on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    """The package's names, those not imported yet included."""
    return sorted(set(globals()) | set(_LAZY))


def render_result(result: Result, output_format: str, ruleset: Ruleset | None = None) -> str:
    """A result in one of ``RESULT_FORMATS``; the ``Ruleset`` behind it lets HTML quote sources."""
    if output_format == "json":
        return result.to_json() + "\n"
    if output_format == "html":
        from .html import render_html

        return render_html(result, ruleset)
    if output_format == "fhir":
        import json

        from .guidance import guidance_response

        return json.dumps(guidance_response(result, ruleset=ruleset), indent=2, ensure_ascii=False) + "\n"
    if output_format == "text":
        from .text import render_text

        return render_text(result, ruleset)
    raise ValueError(f"unknown format {output_format!r} (known: {', '.join(RESULT_FORMATS)})")
