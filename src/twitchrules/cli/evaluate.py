"""``twitchrules evaluate``: one case, one result, in the format asked for."""

from __future__ import annotations

from pathlib import Path

import click

from ..outputs import RESULT_FORMATS, render_result
from .common import case_options, evaluated_case, write_output


@click.command("evaluate")
@case_options(RESULT_FORMATS, "text: readable explanation; json: the contract result; html: a "
              "self-contained page; fhir: a FHIR R4 GuidanceResponse.")
def evaluate_command(case: str, output_format: str, ruleset_spec: str | None,
                     engine: str | None, output: Path | None) -> None:
    """Evaluate CASE (a case JSON file, a bundled example's name, or - for stdin)."""
    _, ruleset, result = evaluated_case(case, ruleset_spec, engine)
    write_output(render_result(result, output_format, ruleset), output)
