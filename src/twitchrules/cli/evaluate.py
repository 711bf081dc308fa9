"""``twitchrules evaluate``: one case, one result, in the format asked for."""

from __future__ import annotations

from pathlib import Path

import click

from ..case import case_from_json
from ..engine import cached_ruleset
from ..outputs import RESULT_FORMATS, render_result
from ..pipeline import evaluate
from ..resources import data_dir
from .common import engine_option, read_input, ruleset_option, write_output


@click.command("evaluate")
@click.argument("case", metavar="CASE")
@click.option("--format", "output_format", type=click.Choice(list(RESULT_FORMATS)), default="text",
              show_default=True, help="text: readable explanation; json: the contract result; html: a "
              "self-contained page; fhir: a FHIR R4 GuidanceResponse.")
@ruleset_option()
@engine_option()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout (written only on success).")
def evaluate_command(case: str, output_format: str, ruleset_spec: str | None,
                     engine: str | None, output: Path | None) -> None:
    """Evaluate CASE (a case JSON file, a bundled example's name, or - for stdin)."""
    checked = case_from_json(read_input(case, param_hint="CASE", fallback=data_dir("examples")))
    ruleset = cached_ruleset(ruleset_spec)
    result = evaluate(checked, ruleset=ruleset, engine=engine)
    write_output(render_result(result, output_format, ruleset), output)
