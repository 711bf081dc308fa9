"""``twitchrules synth|batch|impact``: population replay (parsing, progress and printing only).

The logic is in ``twitchrules.population``. The progress bar (rich) goes to standard error
when it is a terminal, never otherwise or with ``--quiet``; the one-line summary at the end
goes to standard error too, so standard output carries only what was asked for.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..population.batch import DEFAULT_CHUNK_SIZE, BatchInterrupted, Progress, batch
from ..population.cohort import DEFAULT_MIX, MIXES, write_cohort
from ..population.impact import FAIL_ON, impact
from ..population.report import IMPACT_FORMATS, render_impact
from ..population.runners import CONNECT_TIMEOUT_S
from ..ruleset.coverage import COVERAGE_FORMATS, render_coverage
from .common import engine_option, ruleset_option, write_output

INTERRUPTED_EXIT = 130
"""Exit status of a job stopped by Ctrl-C (128 + SIGINT); a kill (SIGTERM) exits 143."""


@click.command("synth")
@click.argument("count", metavar="N", type=click.IntRange(min=0))
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed "
              "gives the same bytes.")
@click.option("--mix", type=click.Choice(list(MIXES)), default=DEFAULT_MIX, show_default=True,
              help="The documented population to draw from (docs: Replaying a population).")
@click.option("--ids", is_flag=True, help='Write each line as {"id": "synth-SEED-N", "case": {...}}.')
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (.gz is compressed) instead of stdout; written whole or not at all.")
def synth_command(count: int, seed: int, mix: str, ids: bool, output: Path | None) -> None:
    """Write N synthetic cases (a realistic, documented mix; not real patients) as JSON lines."""
    if output is None:
        write_cohort(sys.stdout.buffer, count, seed, mix, ids=ids)
        return
    write_cohort(output, count, seed, mix, ids=ids)


class _Bar:
    """The progress bar of a job: cases done, cases/s, refused so far, time left (rich)."""

    def __init__(self, enabled: bool, label: str = "batch") -> None:
        self._progress: Any = None
        self._task: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return
        self._progress = Progress(
            TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.fields[cases]:>9,} cases"),
            TextColumn("{task.fields[rate]:>6,.0f} cases/s"), TextColumn("{task.fields[refused]:,} refused"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("job", total=None, cases=0, rate=0.0, refused=0)
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, progress: Progress) -> None:
        if self._progress is None:
            return
        rate = progress.lines / progress.elapsed if progress.elapsed > 0 else 0.0
        self._progress.update(self._task, total=progress.size, completed=progress.position,
                              cases=progress.lines, rate=rate, refused=progress.refused)


class _Stop:
    """The signals (Ctrl-C, kill) that asked a job to stop, and the checkpoint that stops it.

    A signal only records itself: raised from the handler, ``KeyboardInterrupt`` could land
    inside an engine's callback (CLIPS calls back into Python through cffi), which swallows
    it and goes on. The job stops at the next checkpoint instead, after the chunk in hand is
    written, so the files hold complete lines; a second signal stops it at once.
    """

    def __init__(self) -> None:
        self.caught: list[int] = []

    def handle(self, number: int, _frame: object) -> None:
        if self.caught:
            raise KeyboardInterrupt
        self.caught.append(number)

    def checkpoint(self, bar: _Bar) -> Callable[[Progress], None]:
        """A progress callback: update the bar, then stop here if a signal came."""
        def after_chunk(progress: Progress) -> None:
            bar.update(progress)
            if self.caught:
                raise KeyboardInterrupt
        return after_chunk


@contextmanager
def _kill_interrupts() -> Iterator[_Stop]:
    """Turn Ctrl-C and SIGTERM (kill) into an orderly stop at the next chunk (see ``_Stop``)."""
    stop = _Stop()
    previous = {number: signal.signal(number, stop.handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _exit_interrupted(ctx: click.Context, stop: _Stop, what: str) -> None:
    click.echo(f"{what}: interrupted; the files written hold complete lines only", err=True)
    ctx.exit(128 + stop.caught[0] if stop.caught else INTERRUPTED_EXIT)


def _cluster_options(function: Any) -> Any:
    """The options batch and impact share: where to run, how, and how quietly."""
    for option in reversed((
        engine_option(),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Worker processes of a local Dask cluster (default: the machine's cores); "
                     "1 runs in this process."),
        click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="Run on an existing Dask cluster (its workers need the same twitchrules)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=CONNECT_TIMEOUT_S,
                     show_default=True, help="Seconds to wait for the scheduler and its first worker."),
        click.option("--chunk-size", type=click.IntRange(min=1), default=DEFAULT_CHUNK_SIZE,
                     show_default=True, help="Cases per chunk sent to a worker (the output does not "
                     "depend on it)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line."),
    )):
        function = option(function)
    return function


@click.command("batch")
@click.argument("source", metavar="INPUT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The results file: one {\"line\", \"id\", \"result\"} per evaluated line, in input order "
              "(put in place when the job ends; left as it was when the job cannot run).")
@click.option("--refused", "refused_output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where refused lines go (default: RESULTS.refused.jsonl beside the results).")
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Print to stdout which rules the population fired and every rule it never "
              "reached (the figures of 'ruleset test --coverage').")
@click.option("--coverage-format", type=click.Choice(COVERAGE_FORMATS), default="text", show_default=True,
              help="How to print the coverage (json: the keys of 'ruleset test --coverage --format json').")
@ruleset_option()
@_cluster_options
@click.pass_context
def batch_command(ctx: click.Context, source: str, output: Path, refused_output: Path | None,
                  show_coverage: bool, coverage_format: str, ruleset_spec: str | None, engine: str | None,
                  workers: int | None, scheduler: str | None, timeout: float, chunk_size: int,
                  quiet: bool) -> None:
    """Evaluate every case of INPUT (JSON lines; .gz works; - reads stdin) into RESULTS.

    Exit 0 when every line was evaluated, 1 when some were refused (each named in the
    refused file, with the errors 'evaluate' gives), 2 when the job cannot run or fails on
    the way (the results and refused files are then left as they were).
    """
    with _kill_interrupts() as stop:
        try:
            with _Bar(enabled=not quiet) as bar:
                summary = batch(source, output, ruleset=ruleset_spec, engine=engine, workers=workers,
                                scheduler=scheduler, chunk_size=chunk_size, timeout=timeout,
                                refused_output=refused_output, progress=stop.checkpoint(bar),
                                coverage=show_coverage)
        except BatchInterrupted as stopped:
            click.echo(stopped.summary.describe(), err=True)
            _exit_interrupted(ctx, stop, f"batch (stopped after line {stopped.summary.last_line})")
        except KeyboardInterrupt:
            _exit_interrupted(ctx, stop, "batch (stopped before the first line)")
    if not quiet:
        click.echo(summary.describe(), err=True)
    if summary.coverage is not None:
        click.echo(render_coverage(summary.coverage, coverage_format), nl=False)
    ctx.exit(summary.exit_code)


@click.command("impact")
@click.argument("source", metavar="CASES")
@click.option("--old", "old_spec", required=True, metavar="RULESET",
              help="The ruleset in use: a folder or file, name@version, sha256:HEX or git:REF:PATH.")
@click.option("--new", "new_spec", required=True, metavar="RULESET", help="The ruleset that would replace it.")
@click.option("--format", "output_format", type=click.Choice(list(IMPACT_FORMATS)), default="text",
              show_default=True, help="text: tables for a terminal; json: the documented report; html: "
              "one self-contained page with charts.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of stdout (written once complete).")
@click.option("--fail-on", "fail_on", type=click.Choice(list(FAIL_ON)), multiple=True,
              help="Exit 1 when any case moved down (under-triage) or anything changed (any-change); "
              "a release gate for CI. May be given twice.")
@_cluster_options
@click.pass_context
def impact_command(ctx: click.Context, source: str, old_spec: str, new_spec: str, output_format: str,
                   output: Path | None, fail_on: tuple[str, ...], engine: str | None, workers: int | None,
                   scheduler: str | None, timeout: float, chunk_size: int, quiet: bool) -> None:
    """Evaluate every case of CASES on the old and the new ruleset and report who moves, and why.

    Exit 0, or 1 when a --fail-on condition holds, or 2 when the job cannot run or some
    lines are not valid cases (the report, written all the same, lists them).
    """
    with _kill_interrupts() as stop:
        try:
            with _Bar(enabled=not quiet, label="impact") as bar:
                report = impact(source, old_spec, new_spec, engine=engine, workers=workers,
                                scheduler=scheduler, chunk_size=chunk_size, timeout=timeout,
                                progress=stop.checkpoint(bar))
        except KeyboardInterrupt:
            _exit_interrupted(ctx, stop, "impact (no report written)")
    write_output(render_impact(report, output_format), output)
    if not quiet:
        click.echo(f"impact: {report.cases.compared:,} cases compared, {report.cases.changed:,} changed, "
                   f"{report.triage.up:,} up, {report.triage.down:,} down, {report.cases.refused:,} refused; "
                   f"{report.seconds:.1f} s on {report.runner}", err=True)
    if report.cases.refused:
        click.echo(f"impact: {report.cases.refused:,} line(s) are not valid cases and were not compared "
                   f"(first: line {report.refused[0].line}); see the report", err=True)
        ctx.exit(2)
    broken = report.gate_fails(fail_on)
    if broken:
        click.echo(f"impact: release gate failed: {', '.join(broken)} ({report.triage.down:,} moved down, "
                   f"{report.cases.changed:,} changed)", err=True)
        ctx.exit(1)
