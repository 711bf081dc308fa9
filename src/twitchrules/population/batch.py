"""Batch: a JSON-lines file of cases -> a JSON-lines file of results, in input order.

Each output line is ``{"line": N, "id": ..., "result": R}`` where ``R`` is exactly the
result ``twitchrules evaluate --format json`` prints for that case (on one line). A line that
is not a valid case goes to ``RESULTS.refused.jsonl`` as ``{"line": N, "id": ..., "errors":
[{"field", "message"}]}`` with the errors ``evaluate`` gives, and the job goes on.

Both files are written to hidden temporary files beside them (``twitchrules.files``) and
renamed into place only when the job completes, so a job that cannot run, or fails on the
way (input that turns out unreadable, a full disk, a worker lost), leaves both paths as they
were. Output is appended to the temporary files a chunk at a time, each chunk in one write
with interrupting signals held back, so an interrupted job (Ctrl-C, kill) puts complete
lines only in place: a prefix of what the whole job writes. A target that is not a regular
file (a FIFO, ``/dev/stdout``) is written directly, as the chunks come.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..engine import cached_ruleset, choose_engine
from ..errors import ReplayError
from ..files import WholeFile
from ..ruleset.coverage import RuleCoverage
from ..ruleset.sources import RulesetSpec
from .lines import InputSource, chunked
from .runners import CONNECT_TIMEOUT_S, Runner, open_runner
from .work import ChunkOutput, Shipment, evaluate_chunk

DEFAULT_CHUNK_SIZE = 250
"""Cases per chunk handed to a worker (a few hundred: small next to the work, large next to
Dask's cost per task)."""


@dataclass(frozen=True)
class Progress:
    """How far a job has come: lines done, how many evaluated and refused, input bytes read."""

    lines: int
    evaluated: int
    refused: int
    elapsed: float
    position: int
    size: int | None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class BatchSummary:
    """What a batch job did: counts, files, where it ran and how long it took."""

    input: str
    results_path: Path
    refused_path: Path
    lines: int
    evaluated: int
    refused: int
    last_line: int
    seconds: float
    runner: str
    ruleset: str
    engine: str
    coverage: RuleCoverage | None = None
    """With ``coverage=True``: which rules the evaluated lines fired (``ruleset test --coverage``'s
    figures), else ``None``."""

    @property
    def exit_code(self) -> int:
        """0 when every line was evaluated, 1 when some were refused."""
        return 1 if self.refused else 0

    @property
    def cases_per_second(self) -> float:
        """Lines handled per second of the job."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """The one-line summary printed at the end of a job."""
        refused = (f"{self.refused:,} refused (see {self.refused_path})" if self.refused
                   else "none refused")
        return (f"batch: {self.lines:,} lines, {self.evaluated:,} evaluated, {refused}; "
                f"{self.seconds:.1f} s ({self.cases_per_second:,.0f} cases/s) on {self.runner}; "
                f"ruleset {self.ruleset}, engine {self.engine}")


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C or kill; ``summary`` says what the files hold (complete lines)."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__(summary.describe())
        self.summary = summary


def refused_path_for(results: Path) -> Path:
    """Where the refused lines of ``RESULTS.jsonl`` go: ``RESULTS.refused.jsonl``."""
    name = results.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else name
    return results.with_name(f"{stem}.refused.jsonl")


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold Ctrl-C and kill back while a chunk is written (delivered right after)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one regular file (or will: neither is anything else yet).

    Links count (``os.path.samefile`` where both exist). A FIFO or device named twice is
    not refused: writing it loses no file (``-o /dev/null --refused /dev/null``).
    """
    try:
        first_stat, second_stat = os.stat(first), os.stat(second)
    except OSError:
        return first.resolve() == second.resolve()
    return stat.S_ISREG(first_stat.st_mode) and os.path.samestat(first_stat, second_stat)


def _refuse_overlapping_files(source: str | Path | BinaryIO, results_path: Path, refused_path: Path) -> None:
    """``ReplayError`` before anything is read or written when two of the job's files are one."""
    problems: list[tuple[str, str]] = []
    if isinstance(source, (str, Path)) and str(source) != "-" and Path(source).exists():
        for option, path in (("-o", results_path), ("--refused", refused_path)):
            if _same_file(Path(source), path):
                problems.append((option, f"{path} is the input file {source}: writing it would "
                                 "destroy the cases being read; give another path"))
    if _same_file(results_path, refused_path):
        problems.append(("--refused", f"{refused_path} must not be the results file {results_path}"))
    if problems:
        raise ReplayError(problems)


def _commit(results_file: WholeFile, refused_file: WholeFile) -> None:
    """Put both files in place, the refused lines first; on failure neither temporary is left.

    Ctrl-C and kill are held back meanwhile, so a stop cannot leave one file renamed and the
    other not.
    """
    with held_signals():
        try:
            refused_file.commit()
        except BaseException:
            results_file.discard()
            raise
        results_file.commit()


def batch(source: str | Path | BinaryIO, output: str | Path, *, ruleset: RulesetSpec = None,
          engine: str | None = None, workers: int | None = None, scheduler: str | None = None,
          chunk_size: int = DEFAULT_CHUNK_SIZE, refused_output: str | Path | None = None,
          progress: ProgressCallback | None = None, runner: Runner | None = None,
          timeout: float = CONNECT_TIMEOUT_S, coverage: bool = False) -> BatchSummary:
    """Evaluate every case of a JSON-lines input and write the results in input order.

    Args:
        source: a JSON-lines file (``.gz`` is decompressed), ``"-"`` for standard input, or
            an open binary stream. Each line is a case or ``{"id": ..., "case": {...}}``.
        output: the results file (``{"line", "id", "result"}`` per evaluated line). It and
            the refused file are written to temporary files beside them and renamed into
            place when the job completes or is interrupted; a job that fails leaves both
            paths as they were.
        ruleset: as for ``evaluate``: a ``Ruleset``, a path, ``"twitching@1.0.0"``,
            ``"sha256:<hex>"``, ``"git:REF:PATH"`` or ``None`` for the bundled ruleset.
        engine: the engine name (``None``: the default engine).
        workers: worker processes of a local Dask cluster (default: the cores); ``1`` runs
            in this process, as does a machine without the ``scale`` extra.
        scheduler: ``"tcp://HOST:PORT"`` of an existing Dask cluster to run on instead.
        chunk_size: cases per chunk sent to a worker; the output does not depend on it.
        refused_output: where refused lines go (default ``RESULTS.refused.jsonl`` beside
            ``output``); always written, empty when no line was refused.
        progress: called with a ``Progress`` after each chunk is written.
        runner: an already open runner to use (it is not closed); overrides ``workers``
            and ``scheduler``.
        timeout: seconds to wait for the scheduler and its first worker.
        coverage: also count which rules the evaluated lines fired (the figures of
            ``ruleset test --coverage``, examples named by record id or ``line N``); only
            counts are kept, so memory stays flat.

    Returns:
        A ``BatchSummary``; its ``exit_code`` is 0 when every line was evaluated, 1 when
        some were refused; its ``coverage`` is set when asked for.

    Raises:
        ReplayError: ``output`` or the refused file is the input file, or they are one file
            (a link counts); checked first, before anything is read or written.
        RulesetError: the ruleset cannot be loaded.
        EngineUnavailable: the engine does not run here.
        ReplayError: the input cannot be read (at the start or partway), the cluster cannot
            be reached, or its workers would not give the same results; both paths are left
            as they were.
        OutputError: a file cannot be written (no such folder, no space, a size limit);
            both paths are left as they were.
        KeyboardInterrupt: the job was interrupted; the files hold complete lines only.
    """
    started = time.perf_counter()
    results_path = Path(output)
    if refused_output is None and results_path.exists() and not results_path.is_file():
        # beside a device or a pipe (/dev/stdout) there is no place for a file of our own
        raise ReplayError([("--refused", f"-o {results_path} is not a regular file: give "
                            "--refused FILE for the refused lines")])
    refused_path = Path(refused_output) if refused_output is not None else refused_path_for(results_path)
    _refuse_overlapping_files(source, results_path, refused_path)
    loaded = cached_ruleset(ruleset)
    chosen = choose_engine(engine)
    reader = InputSource(source)
    own_runner = runner is None
    try:
        active = runner or open_runner(workers=workers, scheduler=scheduler, timeout=timeout)
        try:
            shipment = Shipment.of(loaded)
            active.check((shipment,), chosen)
            results_file = WholeFile(results_path)
            try:
                refused_file = WholeFile(refused_path)
            except BaseException:
                results_file.discard()
                raise
            lines = evaluated = refused = last_line = 0
            fired = RuleCoverage.of(loaded) if coverage else None

            def summary() -> BatchSummary:
                return BatchSummary(
                    input=reader.name, results_path=results_path, refused_path=refused_path,
                    lines=lines, evaluated=evaluated, refused=refused, last_line=last_line,
                    seconds=time.perf_counter() - started, runner=active.description,
                    ruleset=f"{loaded.name} {loaded.version} ({loaded.sha256[:12]})", engine=chosen,
                    coverage=fired)

            try:
                chunks = chunked(reader.lines(), chunk_size)
                for outcome in active.map_ordered(evaluate_chunk, chunks, shipment, chosen, coverage):
                    assert isinstance(outcome, ChunkOutput)
                    if fired is not None:
                        for label, rules in outcome.fired:
                            fired.add(rules, label=label)
                    with held_signals():
                        results_file.write(outcome.results)
                        refused_file.write(outcome.refused)
                    evaluated += outcome.evaluated
                    refused += outcome.refused_count
                    lines += outcome.evaluated + outcome.refused_count
                    last_line = outcome.last_line
                    if progress is not None:
                        progress(Progress(lines, evaluated, refused, time.perf_counter() - started,
                                          reader.position, reader.size))
            except KeyboardInterrupt:
                # Stopped on purpose: the complete lines written so far take the files' place.
                _commit(results_file, refused_file)
                raise BatchInterrupted(summary()) from None
            except BaseException:
                results_file.discard()
                refused_file.discard()
                raise
            _commit(results_file, refused_file)
            return summary()
        finally:
            if own_runner:
                active.close()
    finally:
        reader.close()
