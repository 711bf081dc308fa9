"""Output formats: a result -> the text, JSON, HTML or FHIR GuidanceResponse the CLI prints."""

from __future__ import annotations

import json
from pathlib import Path

from ._result import Result
from ._ruleset import Ruleset

RESULT_FORMATS: tuple[str, ...] = ("text", "json", "html", "fhir")


def render_result(result: Result, output_format: str,
                  ruleset: Ruleset | str | Path | None = None) -> str:
    """A result in one of ``RESULT_FORMATS``; ``ruleset`` (object or path) lets HTML quote sources.

    ``fhir`` needs the ``service`` extra (fhir.resources) installed.
    """
    if output_format == "json":
        return result.to_json() + "\n"
    if output_format == "html":
        from ._evaluate import _ruleset
        from ._html import render_html

        return render_html(result, _ruleset(ruleset))
    if output_format == "fhir":
        from .fhir.guidance import guidance_response

        return json.dumps(guidance_response(result), indent=2, ensure_ascii=False) + "\n"
    if output_format == "text":
        from ._text import render_text

        return render_text(result)
    raise ValueError(f"unknown format {output_format!r} (known: {', '.join(RESULT_FORMATS)})")
