"""Runners: where a job's chunks are evaluated: in this process, or on Dask distributed.

``open_runner`` picks one: ``workers=1`` (or, by default, Dask not installed) runs in this
process; asking for more workers or a scheduler without Dask is ``ExtraMissing`` (the
``scale`` extra, exit 2); by default a ``LocalCluster`` of worker processes (one thread each) starts and stops with the
job; ``scheduler="tcp://HOST:PORT"`` uses an existing cluster, after checking that every
worker builds the job's rulesets with the same sha256 and runs the same twitchrules and
engine versions (otherwise the job is refused before any case runs).

``Runner.map_ordered`` hands chunks out with a bounded number in flight and yields their
outcomes in input order, so memory stays flat however long the input and the output is the
same bytes whatever the workers or the chunk size.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from ..errors import ExtraMissing, ReplayError, install_command
from .lines import Chunk
from .work import Shipment, WorkerReport, worker_report

T = TypeVar("T")

SCALE_HINT = f"install the scale extra for more: {install_command('scale')}"
"""What to tell a user who runs a job in one process because Dask is not installed."""

CONNECT_TIMEOUT_S = 10
"""Seconds to wait by default for an existing scheduler to answer (and for its first worker)."""


LOCAL_SCHEDULER: dict[str, Any] = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
"""A local cluster's scheduler: no dashboard, and its HTTP endpoint on a free loopback port
(not Dask's default 8787 on every interface, which a second job would find taken)."""

LOCAL_WORKER_CONFIG: dict[str, Any] = {"distributed.worker.profile.enabled": False}
"""Dask settings for a local cluster's workers. Their statistical profiler samples the running
task every 10 ms for the dashboard, which a local job does not open; it costs CPU the cases
need, and each worker keeps up to 1,000 one-second profiles, so its memory grows for the first
quarter of an hour of a long job (measured: ~1.2 MiB per 10,000 cases per worker with it on,
flat with it off)."""


def dask_available() -> bool:
    """Whether Dask distributed (the ``scale`` extra) can be imported here."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def default_workers() -> int:
    """The number of worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class Runner(Protocol):
    """Runs chunk functions somewhere and yields their outcomes in input order."""

    description: str
    workers: int

    def check(self, shipments: tuple[Shipment, ...], engine: str) -> None:
        """Refuse (``ReplayError``) workers that would not give the bytes this process gives."""

    def map_ordered(self, function: Callable[..., T], chunks: Iterator[Chunk],
                    *args: Any) -> Iterator[T]:
        """``function(chunk, *args)`` for each chunk, in order, with bounded work in flight."""
        ...

    def close(self) -> None:
        """Stop what the runner started (a local cluster), cancelling unfinished work."""


class InProcessRunner:
    """Evaluates chunks one after another in this process."""

    workers = 1

    def __init__(self, description: str = "one process") -> None:
        self.description = description

    def check(self, shipments: tuple[Shipment, ...], engine: str) -> None:
        """Nothing to check: this process built the rulesets."""

    def map_ordered(self, function: Callable[..., T], chunks: Iterator[Chunk],
                    *args: Any) -> Iterator[T]:
        """Each chunk's outcome as soon as it is computed."""
        for chunk in chunks:
            yield function(chunk, *args)

    def close(self) -> None:
        """Nothing to stop."""


class DaskRunner:
    """Evaluates chunks on a Dask distributed cluster through a ``Client``."""

    def __init__(self, client: Any, cluster: Any | None, description: str,
                 in_flight: int | None = None) -> None:
        self.client = client
        self.cluster = cluster
        self.description = description
        self.workers = max(1, len(client.nthreads()))
        self.in_flight = in_flight or 2 * self.workers + 1
        self._shipped: dict[str, Any] = {}
        self._pending: deque[Any] = deque()

    def check(self, shipments: tuple[Shipment, ...], engine: str) -> None:
        """Ask every worker what it would produce; refuse the job on any difference."""
        reports = self.client.run(worker_report, shipments, engine, on_error="return")
        local = worker_report(shipments, engine)
        problems: list[tuple[str, str]] = []
        for address, report in sorted(reports.items()):
            if isinstance(report, BaseException):
                problems.append((address, f"cannot run twitchrules: {type(report).__name__}: {report}"))
                continue
            problems.extend((address, text) for text in _differences(report, shipments, local))
        if problems:
            problems.append(("", "every worker needs the same twitchrules (and engine) as this "
                             "process: install it there, or run without --scheduler"))
            raise ReplayError(problems)
        for shipment in shipments:  # once per worker, not once per chunk
            self._shipped[shipment.sha256] = self.client.scatter(shipment, broadcast=True, hash=False)

    def map_ordered(self, function: Callable[..., T], chunks: Iterator[Chunk],
                    *args: Any) -> Iterator[T]:
        """Submit chunks while fewer than ``in_flight`` wait; yield the oldest when it is done."""
        shipped = tuple(self._shipped.get(arg.sha256, arg) if isinstance(arg, Shipment) else arg
                        for arg in args)
        pending = self._pending
        for chunk in chunks:
            pending.append(self.client.submit(function, chunk, *shipped, pure=False,
                                              key=f"twitchrules-{function.__name__}-{id(self)}-{chunk.index}"))
            while len(pending) >= self.in_flight:
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    def _result(self, future: Any) -> Any:
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except ReplayError:
            raise
        except KilledWorker as error:
            raise ReplayError([("cluster", f"workers died running a chunk: {error}")]) from None
        except (OSError, TimeoutError) as error:
            raise ReplayError([("cluster", f"lost the Dask cluster: {error}")]) from None

    def close(self) -> None:
        """Cancel what is still in flight; stop the local cluster if this job started it."""
        try:
            if self._pending:
                self.client.cancel(list(self._pending))
                self._pending.clear()
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _differences(report: WorkerReport, shipments: tuple[Shipment, ...], local: WorkerReport) -> list[str]:
    found = []
    if report.problem:
        found.append(f"cannot build the job's rulesets or engine: {report.problem}")
    for got, shipment in zip(report.ruleset_sha256, shipments, strict=False):
        if got != shipment.sha256:
            found.append(f"builds ruleset sha256 {got} where this job has {shipment.sha256}")
    if report.package_version != local.package_version:
        found.append(f"runs twitchrules {report.package_version}; this job runs {local.package_version}")
    if report.engine_version is not None and (report.engine, report.engine_version) != (
            local.engine, local.engine_version):
        found.append(f"runs engine {report.engine} {report.engine_version}; this job runs "
                     f"{local.engine} {local.engine_version}")
    return found


def open_runner(*, workers: int | None = None, scheduler: str | None = None,
                in_flight: int | None = None, timeout: float = CONNECT_TIMEOUT_S) -> Runner:
    """The runner a job asked for (see the module docstring); ``ReplayError`` if it cannot start."""
    if not dask_available():
        if scheduler is not None:  # asked for a cluster: without Dask there is none
            raise ExtraMissing("scale", "distributed", "--scheduler")
        if workers is not None and workers > 1:  # asked for worker processes
            raise ExtraMissing("scale", "distributed", "--workers")
        return InProcessRunner("one process" if workers == 1 else f"one process ({SCALE_HINT})")
    if scheduler is None and workers == 1:
        return InProcessRunner("one process")
    import distributed

    # distributed ships partial type hints; its constructors are used as untyped callables.
    Client: Any = distributed.Client

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as error:
            raise ReplayError([(scheduler, f"cannot reach the Dask scheduler: {error}")]) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as error:
            client.close()
            raise ReplayError([(scheduler, f"the scheduler has no worker: {error}")]) from None
        runner = DaskRunner(client, None, "", in_flight)
        runner.description = f"{runner.workers} worker(s) of the Dask cluster at {scheduler}"
        return runner
    count = workers or default_workers()
    if count < 1:
        raise ReplayError([("--workers", "must be at least 1")])
    cluster = local_cluster(count)
    client = Client(cluster)
    return DaskRunner(client, cluster, f"{count} worker process(es) on a local Dask cluster", in_flight)


def local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes on loopback, with
    ``LOCAL_SCHEDULER`` and ``LOCAL_WORKER_CONFIG`` (its workers inherit this config)."""
    import dask
    import distributed

    cluster: Any = distributed.LocalCluster  # distributed ships partial type hints
    with dask.config.set(LOCAL_WORKER_CONFIG):
        return cluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER,
                       silence_logs=logging.ERROR)
