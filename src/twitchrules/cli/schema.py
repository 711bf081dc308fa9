"""``twitchrules schema``: the JSON Schemas of the case and the result, from the models."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..outputs import rendered_schemas, write_schemas


@click.group("schema")
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
