"""``twitchrules synth|batch|impact``: population replay (parsing, progress and printing only).

The logic is in ``twitchrules.population``. The progress bar (rich) goes to standard error
when it is a terminal, never otherwise or with ``--quiet``; the one-line summary at the end
goes to standard error too, so standard output carries only what was asked for.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..population.batch import DEFAULT_CHUNK_SIZE, BatchInterrupted, Progress, batch
from ..population.cohort import DEFAULT_MIX, MIXES, write_cohort
from ..population.runners import CONNECT_TIMEOUT_S
from .common import engine_option, ruleset_option

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
    """The batch progress bar: cases done, cases/s, refused so far, time left (rich)."""

    def __init__(self, enabled: bool) -> None:
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
            TextColumn("[bold]batch"), BarColumn(), TextColumn("{task.fields[cases]:>9,} cases"),
            TextColumn("{task.fields[rate]:>6,.0f} cases/s"), TextColumn("{task.fields[refused]:,} refused"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("batch", total=None, cases=0, rate=0.0, refused=0)
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


@contextmanager
def _kill_interrupts() -> Iterator[list[int]]:
    """Turn SIGTERM (kill) into the same orderly stop as Ctrl-C; yields the signal caught."""
    caught: list[int] = []

    def _stop(number: int, _frame: object) -> None:
        caught.append(number)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield caught
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_interrupted(ctx: click.Context, caught: list[int], what: str) -> None:
    click.echo(f"{what}: interrupted; the files written hold complete lines only", err=True)
    ctx.exit(128 + caught[0] if caught else INTERRUPTED_EXIT)


@click.command("batch")
@click.argument("source", metavar="INPUT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The results file: one {\"line\", \"id\", \"result\"} per evaluated line, in input order.")
@click.option("--refused", "refused_output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where refused lines go (default: RESULTS.refused.jsonl beside the results).")
@ruleset_option()
@engine_option()
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of a local Dask cluster (default: the machine's cores); 1 runs "
              "in this process.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on an existing Dask cluster (its workers need the same twitchrules).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=CONNECT_TIMEOUT_S, show_default=True,
              help="Seconds to wait for the scheduler and its first worker.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=DEFAULT_CHUNK_SIZE, show_default=True,
              help="Cases per chunk sent to a worker (the results do not depend on it).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
@click.pass_context
def batch_command(ctx: click.Context, source: str, output: Path, refused_output: Path | None,
                  ruleset_spec: str | None, engine: str | None, workers: int | None,
                  scheduler: str | None, timeout: float, chunk_size: int, quiet: bool) -> None:
    """Evaluate every case of INPUT (JSON lines; .gz works; - reads stdin) into RESULTS.

    Exit 0 when every line was evaluated, 1 when some were refused (each named in the
    refused file, with the errors 'evaluate' gives), 2 when the job cannot run.
    """
    with _kill_interrupts() as caught:
        try:
            with _Bar(enabled=not quiet) as bar:
                summary = batch(source, output, ruleset=ruleset_spec, engine=engine, workers=workers,
                                scheduler=scheduler, chunk_size=chunk_size, timeout=timeout,
                                refused_output=refused_output, progress=bar.update)
        except BatchInterrupted as stopped:
            click.echo(stopped.summary.describe(), err=True)
            _exit_interrupted(ctx, caught, f"batch (stopped after line {stopped.summary.last_line})")
        except KeyboardInterrupt:
            _exit_interrupted(ctx, caught, "batch (stopped before the first line)")
    if not quiet:
        click.echo(summary.describe(), err=True)
    ctx.exit(summary.exit_code)
