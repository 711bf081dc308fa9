"""CLI: the ``twitchrules`` command (click), one module per command group.

``evaluate`` runs one case; ``explain`` says why, why not and what if;
``interview`` asks the questions that could change the triage; ``feedback`` reads
the clinicians' feedback on cards; ``verify``
reproduces a past decision; ``schema`` writes the JSON Schemas; ``ruleset`` validates,
audits, diffs and locks rulesets; ``service`` runs the CDS Hooks service and the FHIR
helpers; ``synth``, ``batch`` and ``impact`` replay a population. One place
(``_Group.invoke``) turns a library error into ``Type: message`` and its exit code, with no
traceback.

May import: everything below it (the CLI is the top of the pipeline).
"""

from __future__ import annotations

import gc
import importlib
import os
from typing import cast

import click

from .. import diskcache
from ..errors import TwitchrulesError
from ..version import __version__

_COMMANDS: dict[str, str] = {  # command -> module:attribute
    "batch": "population:batch_command",
    "evaluate": "evaluate:evaluate_command",
    "explain": "explain:explain_command",
    "feedback": "feedback:feedback_group",
    "fhir": "service:fhir",
    "impact": "population:impact_command",
    "interview": "interview:interview_command",
    "ruleset": "ruleset:ruleset_group",
    "schema": "schema:schema_group",
    "serve": "service:serve",
    "synth": "population:synth_command",
    "verify": "verify:verify_command",
}
"""Each command's name -> ``module:attribute``: its module in this package and the click
object's name there. A
command's module is imported when that command runs (or ``--help`` lists it), so
``twitchrules evaluate`` never imports the population, service or ruleset tooling."""


_ONE_CASE = frozenset({"evaluate"})
"""The commands that evaluate one case and end: they run with the cyclic garbage collector
off. Their start makes a few hundred thousand long-lived objects (modules, models, the
ruleset), and every 700 of them the collector walks the young ones again, about 20 ms of a
process that keeps nearly all it makes; what the one case leaves is freed at exit (run from
the console script, the collector never walks it: see ``_Group.invoke``). Commands
that run for long (batch, serve...) keep the collector. Mercurial's ``util.nogc`` does the
same while it builds large structures."""


_PYDANTIC_PLUGINS_OFF = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's documented switch for its plugins: ``__all__`` loads none. The one-case
commands set it unless the user did, for the command's run only; they start no other
process that would inherit it."""


class _Group(click.Group):
    """A click group that reports ``TwitchrulesError`` as ``Type: message`` with its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        collecting = gc.isenabled()
        plugins_off = os.environ.get(_PYDANTIC_PLUGINS_OFF)
        try:
            return super().invoke(ctx)
        except TwitchrulesError as error:
            click.echo(f"{type(error).__name__}: {len(error.problems)} problem(s)", err=True)
            for location, message in error.problems:
                click.echo(f"  {location}: {message}" if location else f"  {message}", err=True)
            ctx.exit(error.exit_code)
        finally:
            if collecting:  # as it was (a test's CliRunner goes on in the same process)
                if _ends_process and not gc.isenabled():
                    # The process ends with this command (the console script, ``run``): what
                    # it made moves out of the collector's sight first, so neither turning
                    # it back on nor the interpreter's collections at exit walk those
                    # objects again (about 50 ms of a one-case process). Nothing it leaves
                    # open needs the collector: output is written and closed before this.
                    gc.freeze()
                gc.enable()
            if plugins_off is None:  # likewise pydantic's plugins
                os.environ.pop(_PYDANTIC_PLUGINS_OFF, None)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """The command ``args`` name; a one-case command's module loads with the collector off."""
        if args and args[0] in _ONE_CASE:
            gc.disable()
            # Before the first pydantic model of ours is built (the command's module builds
            # them): skip pydantic's plugin discovery, an entry-point scan of every installed
            # distribution (5-8 ms with the development extras installed; more, the more
            # distributions a machine has). Only this CLI process and its
            # one-case commands: a program importing twitchrules keeps its plugins, and
            # ``PYDANTIC_DISABLE_PLUGINS=`` (set, empty) keeps them for the CLI too.
            os.environ.setdefault(_PYDANTIC_PLUGINS_OFF, "__all__")
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, the not yet imported ones included."""
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, its module imported on first use."""
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _COMMANDS:
            module_name, attribute = _COMMANDS[cmd_name].split(":")
            module = importlib.import_module(f"{__name__}.{module_name}")
            command = cast(click.Command, getattr(module, attribute))
            self.add_command(command, cmd_name)
        return command


_ends_process = False
"""Whether this process ends when the command does (set by ``run``, the console script)."""


def run() -> None:
    """The ``twitchrules`` console script: ``main`` as the entry point of a process that
    ends with the command (``main`` itself is what tests and other programs call)."""
    global _ends_process
    _ends_process = True
    main()


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="twitchrules")
@click.option("--no-cache", is_flag=True, default=False,
              help="Do not read or write the disk cache of checked rulesets and compiled engine "
              f"images (the same as {diskcache.ENV_OFF}=1).")
def main(no_cache: bool) -> None:
    """Clinical decision support for muscle twitching, every answer traced to its rule."""
    if no_cache:
        diskcache.disable()

