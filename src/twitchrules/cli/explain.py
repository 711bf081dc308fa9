"""``twitchrules explain``: why a case's result is what it is, why not more, and what would change it."""

from __future__ import annotations

from pathlib import Path

import click

from ..explain import explain_result
from ..explain.render import EXPLAIN_FORMATS, render_explanation
from .common import case_options, evaluated_case, write_output

FORMAT_HELP = "text: readable; json: the typed explanation; html: the report with its explanation section."


@click.command("explain")
@case_options(EXPLAIN_FORMATS, FORMAT_HELP)
def explain_command(case: str, output_format: str, ruleset_spec: str | None,
                    engine: str | None, output: Path | None) -> None:
    """Explain CASE (a case JSON file, a bundled example's name, or - for stdin)."""
    checked, ruleset, result = evaluated_case(case, ruleset_spec, engine)
    explanation = explain_result(checked, result, ruleset, engine=engine)
    write_output(render_explanation(explanation, result, output_format, ruleset), output)
