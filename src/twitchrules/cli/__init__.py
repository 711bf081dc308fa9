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

import click

from .. import diskcache
from ..errors import TwitchrulesError
from ..version import __version__


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
@click.option("--no-cache", is_flag=True, default=False,
              help="Do not read or write the disk cache of checked rulesets and compiled engine "
              f"images (the same as {diskcache.ENV_OFF}=1).")
def main(no_cache: bool) -> None:
    """Clinical decision support for muscle twitching, every answer traced to its rule."""
    if no_cache:
        diskcache.disable()


def _register() -> None:
    from .evaluate import evaluate_command
    from .explain import explain_command
    from .feedback import feedback_group
    from .interview import interview_command
    from .population import batch_command, impact_command, synth_command
    from .ruleset import ruleset_group
    from .schema import schema_group
    from .service import fhir, serve
    from .verify import verify_command

    for command in (batch_command, evaluate_command, explain_command, feedback_group, fhir, impact_command,
                    interview_command, ruleset_group, schema_group, serve, synth_command,
                    verify_command):
        main.add_command(command)


_register()
