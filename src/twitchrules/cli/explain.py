"""``twitchrules explain``: why a case's result is what it is, why not more, and what would change it."""

from __future__ import annotations

from pathlib import Path

import click

from ..case import case_from_json
from ..engine import cached_ruleset
from ..explain import explain_result
from ..explain.render import EXPLAIN_FORMATS, render_explanation
from ..pipeline import evaluate
from ..resources import data_dir
from .common import engine_option, read_input, ruleset_option, write_output


@click.command("explain")
@click.argument("case", metavar="CASE")
@click.option("--format", "output_format", type=click.Choice(list(EXPLAIN_FORMATS)), default="text",
              show_default=True, help="text: readable; json: the typed explanation; html: the "
              "report with its explanation section.")
@ruleset_option()
@engine_option()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout (written only on success).")
def explain_command(case: str, output_format: str, ruleset_spec: str | None,
                    engine: str | None, output: Path | None) -> None:
    """Explain CASE (a case JSON file, a bundled example's name, or - for stdin)."""
    checked = case_from_json(read_input(case, param_hint="CASE", fallback=data_dir("examples")))
    ruleset = cached_ruleset(ruleset_spec)
    result = evaluate(checked, ruleset=ruleset, engine=engine)
    explanation = explain_result(checked, result, ruleset, engine=engine)
    write_output(render_explanation(explanation, result, output_format, ruleset), output)
