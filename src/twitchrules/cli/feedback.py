"""``twitchrules feedback report``: what clinicians did with the cards, from the audit log."""

from __future__ import annotations

from pathlib import Path

import click

from ..verify.feedback import feedback_report
from ..verify.feedback_render import FEEDBACK_FORMATS, render_feedback
from .common import output_option, write_output


@click.group("feedback")
def feedback_group() -> None:
    """Read the clinicians' feedback on cards (accepted, overridden, ignored)."""


@feedback_group.command("report")
@click.argument("audit_log", metavar="AUDIT_LOG",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(list(FEEDBACK_FORMATS)),
              default="text", show_default=True)
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Override rate at or above which a rule is listed for review first.")
@click.option("--min-cards", type=click.IntRange(1), default=3, show_default=True,
              help="Cards a rule must have fired for to be listed for review first.")
@output_option()
def report_command(audit_log: Path, output_format: str, threshold: float, min_cards: int,
                   output: Path | None) -> None:
    """Per rule version and per card: accepted, overridden (with reasons) and ignored."""
    report = feedback_report(audit_log, threshold=threshold, min_cards=min_cards)
    write_output(render_feedback(report, output_format), output)
