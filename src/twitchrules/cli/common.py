"""Shared CLI pieces: reading an input argument, writing an output, the engine option."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..case import Case, case_from_json
from ..conclusions import Result
from ..engine import ENGINES, EngineUnavailable, cached_ruleset, choose_engine
from ..files import write_whole
from ..pipeline import evaluate
from ..resources import data_dir
from ..ruleset.model import Ruleset

FC = TypeVar("FC", bound=Callable[..., Any])


def write_output(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` whole (``OutputError`` naming it when it cannot be).

    Only ever called once the text is complete; a failed write leaves ``output`` as it was.
    """
    if output is None:
        click.echo(text, nl=False)
    else:
        write_whole(output, text)


def read_input(source: str, *, param_hint: str, fallback: Path | None = None) -> bytes:
    """The bytes of a file argument (``-`` reads stdin; ``fallback`` is a folder to look in).

    Bytes, not text: the JSON reader decides the encoding and names what it refuses.
    """
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists() and fallback is not None:
        # a bundled example by its file name or its bare name: mark.json or mark
        for name in (source, f"{source}.json"):
            if (fallback / name).is_file():
                path = fallback / name
                break
    if path.is_dir():
        raise click.BadParameter(f"{source} is a folder, not a file", param_hint=param_hint)
    if not path.is_file():
        raise click.BadParameter(f"no such file: {source}", param_hint=param_hint)
    try:
        return path.read_bytes()
    except OSError as error:
        raise click.BadParameter(f"cannot read {source}: {error.strerror}",
                                 param_hint=param_hint) from None


def case_options(formats: Sequence[str], format_help: str) -> Callable[[FC], FC]:
    """A one-case command's CASE argument and its ``--format``, ``--ruleset``, ``--engine`` and ``-o``."""
    def decorate(command: FC) -> FC:
        for option in reversed((
                click.argument("case", metavar="CASE"),
                click.option("--format", "output_format", type=click.Choice(list(formats)), default="text",
                             show_default=True, help=format_help),
                ruleset_option(), engine_option(), output_option())):
            command = option(command)
        return command
    return decorate


def evaluated_case(source: str, ruleset_spec: str | None, engine: str | None) -> tuple[Case, Ruleset, Result]:
    """The case a CASE argument names, the ruleset asked for (loaded once) and the case's result."""
    case = read_case(source)
    ruleset = cached_ruleset(ruleset_spec)
    return case, ruleset, evaluate(case, ruleset=ruleset, engine=engine)


def read_case(source: str) -> Case:
    """The case a CASE argument names: a file, a bundled example's name, or ``-`` for stdin."""
    return case_from_json(read_input(source, param_hint="CASE", fallback=data_dir("examples")))


def output_option(help_text: str = "Write to this file instead of stdout (written only on success).",
                  **overrides: Any) -> Callable[[FC], FC]:
    """The ``-o/--output`` option: a file path (``None``: standard output)."""
    settings: dict[str, Any] = dict(type=click.Path(dir_okay=False, path_type=Path), default=None,
                                    help=help_text)
    settings.update(overrides)
    return click.option("-o", "--output", **settings)


def ruleset_option() -> Callable[[FC], FC]:
    """The ``--ruleset`` option: a file or folder, ``name@version``, ``sha256:HEX`` or ``git:REF:PATH``."""
    return click.option(
        "--ruleset", "ruleset_spec", default=None, metavar="RULESET",
        help="A ruleset file or folder, a released version (twitching@1.0.0) or a content "
        "hash (sha256:HEX) (default: the bundled ruleset).")


def _check_engine(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return choose_engine(value)
    except EngineUnavailable:
        raise click.BadParameter(f"engine '{value}' is not available on this Python") from None


def engine_option(**overrides: Any) -> Callable[[FC], FC]:
    """The ``--engine`` option: a known engine name, checked to run on this Python."""
    settings: dict[str, Any] = dict(
        type=click.Choice(list(ENGINES)), default=None, callback=_check_engine,
        help="Rule engine backend (default: clips, the fastest; durable is the reference).")
    settings.update(overrides)
    return click.option("--engine", **settings)
