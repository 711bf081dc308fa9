"""CLI: the ``twitchrules`` command (click); one place turns library errors into exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._case_input import case_from_json
from ._errors import TwitchrulesError
from ._evaluate import __version__, evaluate
from ._formats import render_result
from ._resources import data_dir
from ._schemas import rendered_schemas, write_schemas
from .engine import available_engines

FORMATS = ["text", "json", "html", "fhir"]


class _Group(click.Group):
    """A click group that reports ``TwitchrulesError`` as ``Type: message`` with its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TwitchrulesError as error:
            click.echo(f"{type(error).__name__}: {len(error.problems)} problem(s)", err=True)
            for location, message in error.problems:
                click.echo(f"  {location}: {message}" if location else f"  {message}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="twitchrules")
def main() -> None:
    """Clinical decision support for muscle twitching, every answer traced to its rule."""


def _read_case_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        examples = data_dir("examples")
        bundled = examples / source
        if bundled.is_file():
            path = bundled
        else:
            raise click.BadParameter(f"no such file: {source}", param_hint="CASE")
    return path.read_text(encoding="utf-8")


@main.command("evaluate")
@click.argument("case", metavar="CASE")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text",
              show_default=True, help="text: readable explanation; json: the contract result; html: a "
              "self-contained page; fhir: a FHIR R4 GuidanceResponse.")
@click.option("--ruleset", "ruleset_path", type=click.Path(exists=True, path_type=Path),
              default=None, help="A ruleset file or folder (default: the bundled ruleset).")
@click.option("--engine", type=click.Choice(["durable", "clips"]), default=None,
              help="Rule engine backend (default: durable-rules where it imports).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout (written only on success).")
def evaluate_command(case: str, output_format: str, ruleset_path: Path | None,
                     engine: str | None, output: Path | None) -> None:
    """Evaluate CASE (a case JSON file, a bundled example's name, or - for stdin)."""
    if engine is not None and engine not in available_engines():
        raise click.BadParameter(f"engine '{engine}' is not available on this Python",
                                 param_hint="--engine")
    checked = case_from_json(_read_case_text(case))
    result = evaluate(checked, ruleset=ruleset_path, engine=engine)
    text = render_result(result, output_format, ruleset_path)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@main.group("schema")
def schema_group() -> None:
    """The JSON Schemas of the case and the result, generated from the models."""


@schema_group.command("generate")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schemas"), show_default=True, help="Folder to write into.")
@click.option("--check", is_flag=True, help="Do not write; exit 1 if the files differ.")
def schema_generate(folder: Path, check: bool) -> None:
    """Write schemas/case.schema.json and schemas/result.schema.json from the models."""
    if check:
        stale = [name for name, text in rendered_schemas().items()
                 if not (folder / name).is_file()
                 or (folder / name).read_text(encoding="utf-8") != text]
        if stale:
            click.echo(f"out of date: {', '.join(stale)} (run: twitchrules schema generate)",
                       err=True)
            sys.exit(1)
        click.echo("schemas are up to date")
        return
    folder.mkdir(parents=True, exist_ok=True)
    for path in write_schemas(folder):
        click.echo(f"wrote {path}")



from ._cli_service import fhir, serve  # noqa: E402  (service step's commands, own module)

main.add_command(serve)
main.add_command(fhir)

from ._cli_ruleset import ruleset_group  # noqa: E402  (audit step's commands, own module)

main.add_command(ruleset_group)
