"""`twitchrules batch`: results in input order, exactly what `evaluate` prints, on one process or Dask."""

from __future__ import annotations

import gzip
import json
import os
import pty
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twitchrules import case_from_json, evaluate
from twitchrules.errors import CaseError
from twitchrules.population import batch, open_runner
from twitchrules.population.cohort import cohort_lines
from twitchrules.population.lines import Chunk
from twitchrules.population.runners import DaskRunner

from .test_cli import EXE, read_fifo, run, run_with_file_limit

pytest.importorskip("distributed", reason="the scale extra (Dask distributed) is part of [dev]")

BAD_LINES = {
    3: '{"assessed_on": "2026-11-20", "patient": {"age": 40}, "twitching": {"regions": '
       '[{"region": "calf", "side": "left", "since": "2026-11-01"}]}, "findings": {"weaknes": true}}',
    8: "this is not json",
    12: '{"id": "rec-12", "case": {"assessed_on": "2026-13-01"}, "note": "x"}',
    20: '[1, 2, 3]',
}


def _cases_file(folder: Path, n: int = 60, *, bad: bool = True, ids_every: int = 4) -> Path:
    """A cohort file with some lines wrapped with ids, a blank line and (optionally) bad lines."""
    lines = []
    for number, text in enumerate(cohort_lines(n, seed=21), start=1):
        record = text.rstrip("\n")
        if number % ids_every == 0:
            record = json.dumps({"id": f"rec-{number}", "case": json.loads(record)})
        if bad and number in BAD_LINES:
            record = BAD_LINES[number]
        lines.append(record)
    lines.insert(30, "")  # a blank line keeps its number and is skipped
    path = folder / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskRunner]:
    """One real LocalCluster with 2 worker processes for the module."""
    runner = open_runner(workers=2)
    assert isinstance(runner, DaskRunner) and runner.workers == 2
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's input: 60 lines, some with ids, four bad, one blank."""
    return _cases_file(tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def one_process(cases: Path) -> tuple[bytes, bytes]:
    """The results and refused bytes of a one-process run (the reference)."""
    out = cases.parent / "one.jsonl"
    summary = batch(cases, out, workers=1, engine="clips")
    assert summary.exit_code == 1 and summary.refused == len(BAD_LINES)
    return out.read_bytes(), (cases.parent / "one.refused.jsonl").read_bytes()


def test_each_line_is_what_evaluate_prints(cases: Path, one_process: tuple[bytes, bytes],
                                           tmp_path: Path) -> None:
    """Every result line carries its line, its id and exactly the JSON `evaluate` prints for the case."""
    results = [json.loads(line) for line in one_process[0].decode().splitlines()]
    source = cases.read_text(encoding="utf-8").split("\n")
    assert [r["line"] for r in results] == [n for n, text in enumerate(source, 1)
                                            if text.strip() and n - (n > 31) not in BAD_LINES]
    for entry in results:
        record = json.loads(source[entry["line"] - 1])
        case = record.get("case", record)
        assert entry["id"] == record.get("id") if "case" in record else entry["id"] is None
        printed = evaluate(case, engine="clips").to_json() + "\n"
        assert json.dumps(entry["result"], indent=2, ensure_ascii=False) + "\n" == printed
    for entry in results[:3]:  # and through the CLI itself, as a user compares them
        record = json.loads(source[entry["line"] - 1])
        case_file = tmp_path / f"case-{entry['line']}.json"
        case_file.write_text(json.dumps(record.get("case", record)), encoding="utf-8")
        done = run("evaluate", str(case_file), "--format", "json", "--engine", "clips")
        assert done.returncode == 0, done.stderr
        assert json.dumps(entry["result"], indent=2, ensure_ascii=False) + "\n" == done.stdout


def test_bad_lines_are_refused_with_evaluates_errors(cases: Path, one_process: tuple[bytes, bytes]) -> None:
    """Each bad line is refused by number with the field-naming errors of evaluate; the job goes on."""
    refused = [json.loads(line) for line in one_process[1].decode().splitlines()]
    source = cases.read_text(encoding="utf-8").split("\n")
    assert [entry["line"] for entry in refused] == [3, 8, 12, 20]
    by_line = {entry["line"]: entry for entry in refused}
    with pytest.raises(CaseError) as raised:
        case_from_json(source[2])
    assert [(e["field"], e["message"]) for e in by_line[3]["errors"]] == raised.value.problems
    assert any(e["field"] == "findings.weaknes" and "did you mean 'weakness'" in e["message"]
               for e in by_line[3]["errors"])
    assert by_line[8]["errors"][0]["message"].startswith("is not valid JSON")
    assert by_line[12]["id"] == "rec-12"
    assert {e["field"] for e in by_line[12]["errors"]} >= {"note", "assessed_on", "patient"}
    assert by_line[20]["errors"] == [{"field": "case", "message": "expected a JSON object, got list"}]
    assert max(json.loads(line)["line"] for line in one_process[0].decode().splitlines()) == 61


def test_local_cluster_gives_the_same_bytes(cluster: DaskRunner, cases: Path,
                                            one_process: tuple[bytes, bytes], tmp_path: Path) -> None:
    """Two worker processes give byte-identical files to one process, whatever the chunk size."""
    for chunk_size in (1, 7, 500):
        out = tmp_path / f"dask-{chunk_size}.jsonl"
        summary = batch(cases, out, engine="clips", chunk_size=chunk_size, runner=cluster)
        assert "local Dask cluster" in summary.runner
        assert (out.read_bytes(), (tmp_path / f"dask-{chunk_size}.refused.jsonl").read_bytes()) == one_process


def test_a_local_cluster_listens_on_loopback_only(cluster: DaskRunner) -> None:
    """The job's own scheduler and its HTTP endpoint listen on loopback, the endpoint on a free port (not 8787)."""
    scheduler = cluster.cluster.scheduler
    assert cluster.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert scheduler.http_server.address == "127.0.0.1" and scheduler.http_server.port != 8787
    assert all(worker.startswith("tcp://127.0.0.1:") for worker in cluster.client.scheduler_info()["workers"])


def test_local_workers_keep_no_profiles(cluster: DaskRunner, cases: Path, tmp_path: Path) -> None:
    """A local cluster's workers run without Dask's statistical profiler, whose kept profiles
    grew their memory over a long job: after a job, no worker holds a profile."""
    batch(cases, tmp_path / "out.jsonl", engine="clips", runner=cluster)

    def profiling(dask_worker: Any) -> tuple[bool, int]:
        import dask

        return bool(dask.config.get("distributed.worker.profile.enabled")), len(dask_worker.profile_history)

    assert set(cluster.client.run(profiling).values()) == {(False, 0)}


def test_bounded_in_flight(cluster: DaskRunner) -> None:
    """The runner pulls at most in_flight chunks ahead of what it has handed back (flat memory)."""
    pulled = 0

    def chunks() -> Iterator[Chunk]:
        nonlocal pulled
        for index in range(40):
            pulled += 1
            yield Chunk(index, ((index + 1, b"{}"),))

    ahead = []
    for given, outcome in enumerate(cluster.map_ordered(_echo, chunks()), start=1):
        ahead.append(pulled - given)
        assert outcome == given - 1
    assert max(ahead) <= cluster.in_flight and len(ahead) == 40


def _echo(chunk: Chunk) -> int:
    return chunk.index


def test_gzip_and_stdin_give_the_same_results(cases: Path, one_process: tuple[bytes, bytes],
                                              tmp_path: Path) -> None:
    """A .gz input and standard input (-) give the same bytes as the plain file, via the CLI."""
    packed = tmp_path / "cases.jsonl.gz"
    packed.write_bytes(gzip.compress(cases.read_bytes()))
    done = run("batch", str(packed), "-o", str(tmp_path / "gz.jsonl"), "--workers", "1", "--engine", "clips")
    assert done.returncode == 1, done.stderr
    assert (tmp_path / "gz.jsonl").read_bytes() == one_process[0]
    piped = subprocess.run([EXE, "batch", "-", "-o", str(tmp_path / "in.jsonl"), "--workers", "1",
                            "--engine", "clips"], input=cases.read_bytes(), capture_output=True, timeout=120)
    assert piped.returncode == 1, piped.stderr
    assert (tmp_path / "in.jsonl").read_bytes() == one_process[0]
    assert (tmp_path / "in.refused.jsonl").read_bytes() == one_process[1]


def test_exit_codes_and_summary(tmp_path: Path) -> None:
    """Exit 0 when every line was evaluated, with a one-line summary on stderr (nothing on stdout)."""
    clean = _cases_file(tmp_path, 12, bad=False)
    done = run("batch", str(clean), "-o", str(tmp_path / "r.jsonl"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "12 evaluated, none refused" in done.stderr
    assert (tmp_path / "r.refused.jsonl").read_bytes() == b""
    quiet = run("batch", str(clean), "-o", str(tmp_path / "q.jsonl"), "--workers", "1", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.parametrize(("args", "named"), [
    (["missing.jsonl"], "missing.jsonl"),
    (["{cases}", "--ruleset", "no/such/ruleset"], "no/such/ruleset"),
    (["{cases}", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"], "tcp://127.0.0.1:9"),
])
def test_a_job_that_cannot_run_exits_2_and_writes_nothing(args: list[str], named: str, tmp_path: Path) -> None:
    """Unreadable input, a bad ruleset or an unreachable scheduler: exit 2, a clear message, no file."""
    clean = _cases_file(tmp_path, 3, bad=False)
    out = tmp_path / "out" / "r.jsonl"
    out.parent.mkdir()
    done = run("batch", *[a.format(cases=clean) for a in args], "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_job_leaves_complete_lines(stop: signal.Signals, tmp_path: Path) -> None:
    """Ctrl-C or kill mid-job leaves complete lines only, a prefix of the full run's output."""
    source = tmp_path / "many.jsonl"
    source.write_text("".join(cohort_lines(3000, seed=4)), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    job = subprocess.Popen([EXE, "batch", str(source), "-o", str(out), "--workers", "1", "--chunk-size", "5",
                            "--engine", "clips"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # generous: a loaded machine starts slowly
    while time.monotonic() < deadline and _written_so_far(tmp_path, out) < 50_000:
        time.sleep(0.05)
    assert not out.exists()  # the results take its place once the job ends
    job.send_signal(stop)
    _, err = job.communicate(timeout=300)
    assert job.returncode == 128 + stop, err
    assert b"complete lines" in err and b"Traceback" not in err
    written = out.read_bytes()
    assert written.endswith(b"\n")
    lines = written.decode().splitlines()
    assert 0 < len(lines) < 3000
    assert [json.loads(line)["line"] for line in lines] == list(range(1, len(lines) + 1))
    full = tmp_path / "full.jsonl"
    batch(first_lines(source, len(lines), tmp_path), full, workers=1, engine="clips")
    assert written == full.read_bytes()


def _written_so_far(folder: Path, target: Path) -> int:
    """The bytes in the hidden temporary file a running job writes ``target``'s lines to."""
    return sum(path.stat().st_size for path in folder.glob(f".{target.name}.*.tmp"))


def first_lines(source: Path, n: int, folder: Path) -> Path:
    """A file holding the first n lines of source."""
    with open(source, "rb") as handle:
        head = [handle.readline() for _ in range(n)]
    target = folder / "first.jsonl"
    target.write_bytes(b"".join(head))
    return target


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """On a terminal, stderr shows the bar (cases, cases/s, refused, ETA); through a pipe only the summary."""
    clean = _cases_file(tmp_path, 30, bad=False)
    leader, follower = pty.openpty()
    job = subprocess.Popen([EXE, "batch", str(clean), "-o", str(tmp_path / "t.jsonl"), "--workers", "1",
                            "--chunk-size", "3"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=follower, env={**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    os.close(follower)
    seen = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        seen += data
    job.wait(timeout=120)
    os.close(leader)
    assert job.returncode == 0
    screen = seen.decode("utf-8", "replace")
    assert "cases/s" in screen and "refused" in screen and "ETA" in screen
    piped = run("batch", str(clean), "-o", str(tmp_path / "p.jsonl"), "--workers", "1")
    assert "cases/s)" in piped.stderr and "ETA" not in piped.stderr


def test_without_dask_it_runs_in_one_process_and_says_how_to_get_more(tmp_path: Path) -> None:
    """Where Dask is not installed, batch runs in one process and names the scale extra."""
    clean = _cases_file(tmp_path, 5, bad=False)
    script = ("import sys; sys.modules['distributed'] = None; from twitchrules.cli import main; "
              "main(prog_name='twitchrules')")
    done = subprocess.run([sys.executable, "-c", script, "batch", str(clean), "-o", str(tmp_path / "r.jsonl")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "one process" in done.stderr and 'pip install ".[scale]"' in done.stderr


@pytest.fixture(scope="module")
def ruleset_tests_as_lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled ruleset's own test cases as batch input, each line carrying its case file's id."""
    from twitchrules.ruleset.testing import load_case_files

    folder = Path(__file__).resolve().parents[1] / "rulesets" / "twitching" / "tests"
    path = tmp_path_factory.mktemp("coverage") / "ruleset-tests.jsonl"
    path.write_text("".join(json.dumps({"id": case_file.id, "case": case_file.case}) + "\n"
                            for case_file in load_case_files(folder)), encoding="utf-8")
    return path


def test_batch_coverage_gives_the_figures_of_ruleset_test(ruleset_tests_as_lines: Path, cluster: DaskRunner,
                                                          tmp_path: Path) -> None:
    """batch --coverage over the ruleset's own tests prints what ruleset test --coverage does, on Dask too."""
    from twitchrules.verify import run_ruleset_tests

    expected = run_ruleset_tests(None, engine="clips").coverage.to_dict()
    assert expected["evaluations"] > 0
    done = run("batch", str(ruleset_tests_as_lines), "-o", str(tmp_path / "r.jsonl"), "--workers", "1",
               "--engine", "clips", "--quiet", "--coverage", "--coverage-format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
    on_dask = batch(ruleset_tests_as_lines, tmp_path / "d.jsonl", engine="clips", chunk_size=5,
                    runner=cluster, coverage=True)
    assert on_dask.coverage is not None and on_dask.coverage.to_dict() == expected


def test_batch_coverage_names_the_rules_a_population_never_reaches(tmp_path: Path) -> None:
    """A benign-only population leaves the red-flag rules unfired, and the text report lists each by id."""
    from twitchrules.engine import cached_ruleset

    eyelid = json.loads(Path("examples/eyelid-benign.json").read_text(encoding="utf-8"))
    cases = tmp_path / "eyelid.jsonl"
    cases.write_text((json.dumps(eyelid) + "\n") * 3 + "not json\n", encoding="utf-8")
    done = run("batch", str(cases), "-o", str(tmp_path / "r.jsonl"), "--workers", "1", "--engine", "clips",
               "--quiet", "--coverage")
    assert done.returncode == 1, done.stderr  # the bad line is refused, not counted
    fired = {step["rule"] for step in evaluate(eyelid, engine="clips").to_dict()["trace"]}
    ruleset = cached_ruleset(None)
    every = [rule.id for rule in ruleset.rules] + [ruleset.triage_default["id"]]
    never = [rule_id for rule_id in every if rule_id not in fired]
    assert never and done.stdout.startswith(f"coverage: {len(every) - len(never)} of {len(every)} rules ")
    assert "over 3 evaluations" in done.stdout
    listed = [line.split()[0] for line in done.stdout.splitlines()[2:]]
    assert listed == never


def _previous_files(folder: Path) -> tuple[Path, Path]:
    """A results and a refused file that an earlier job left, in a folder of their own."""
    folder.mkdir()
    results, refused = folder / "r.jsonl", folder / "r.refused.jsonl"
    results.write_bytes(b"precious results\n")
    refused.write_bytes(b"precious refused\n")
    return results, refused


def _assert_left_as_they_were(results: Path, refused: Path) -> None:
    """Both files hold what they held, and no temporary file is left beside them."""
    assert results.read_bytes() == b"precious results\n"
    assert refused.read_bytes() == b"precious refused\n"
    assert sorted(path.name for path in results.parent.iterdir()) == ["r.jsonl", "r.refused.jsonl"]


def test_an_input_unreadable_partway_leaves_the_previous_files(tmp_path: Path) -> None:
    """A .gz cut short fails after some chunks were evaluated: exit 2, and the old files are untouched."""
    whole = gzip.compress("".join(cohort_lines(3000, seed=2)).encode("utf-8"))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    results, refused = _previous_files(tmp_path / "out")
    done = run("batch", str(cut), "-o", str(results), "--workers", "1", "--chunk-size", "5", "-q")
    assert done.returncode == 2, done.stderr
    assert "cannot be read after line" in done.stderr and "Traceback" not in done.stderr
    _assert_left_as_they_were(results, refused)


@pytest.mark.parametrize("case", ["not gzip", "refused folder missing"])
def test_a_job_that_cannot_run_leaves_the_previous_files(case: str, tmp_path: Path) -> None:
    """Input that is not gzip, or a --refused path in no folder: exit 2, earlier results untouched."""
    results, refused = _previous_files(tmp_path / "out")
    if case == "not gzip":
        source = tmp_path / "garbage.gz"
        source.write_bytes(b"garbage")
        done = run("batch", str(source), "-o", str(results), "--workers", "1", "-q")
        assert "Not a gzipped file" in done.stderr
    else:
        source = _cases_file(tmp_path, 5)
        missing = tmp_path / "missing" / "x.jsonl"
        done = run("batch", str(source), "-o", str(results), "--refused", str(missing), "--workers", "1")
        assert f"{missing}: cannot be written: No such file or directory" in done.stderr
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    _assert_left_as_they_were(results, refused)


def test_a_write_cut_short_leaves_the_previous_files(tmp_path: Path) -> None:
    """A file size limit stops the results midway: exit 2 naming the file, no torn line anywhere."""
    source = _cases_file(tmp_path, 60)
    results, refused = _previous_files(tmp_path / "out")
    done = run_with_file_limit("batch", str(source), "-o", str(results), "--workers", "1", "--chunk-size", "5",
                               "-q", limit_bytes=50 * 1024)
    assert done.returncode == 2, done.stderr
    assert f"{results}: cannot be written: File too large" in done.stderr
    assert "Traceback" not in done.stderr
    _assert_left_as_they_were(results, refused)


def test_results_to_a_fifo_are_written_through_it(cases: Path, one_process: tuple[bytes, bytes],
                                                  tmp_path: Path) -> None:
    """-o FIFO: the reader gets the same bytes as a file would hold, and the FIFO stays a FIFO."""
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    reader, received = read_fifo(fifo)
    done = run("batch", str(cases), "-o", str(fifo), "--refused", str(tmp_path / "refused.jsonl"),
               "--workers", "1", "--engine", "clips", "-q")
    reader.join(timeout=60)
    assert done.returncode == 1, done.stderr
    assert received == [one_process[0]]
    assert (tmp_path / "refused.jsonl").read_bytes() == one_process[1]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["refused.jsonl", "results.fifo"]


def test_results_to_a_fifo_need_a_refused_file_named(cases: Path, tmp_path: Path) -> None:
    """-o FIFO (or a device such as /dev/stdout) without --refused: there is no place for
    RESULTS.refused.jsonl beside it, so the job is refused (exit 2) before anything is read
    or written, and nothing appears beside the FIFO."""
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    done = run("batch", str(cases), "-o", str(fifo), "--workers", "1", "-q")
    assert done.returncode == 2, done.stderr
    assert "--refused" in done.stderr and "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["results.fifo"]


@pytest.mark.parametrize(("layout", "named"), [
    ({"-o": "cases.jsonl"}, "-o: {folder}/cases.jsonl is the input file"),
    ({"-o": "r.jsonl", "--refused": "cases.jsonl"}, "--refused: {folder}/cases.jsonl is the input file"),
    ({"-o": "link.jsonl"}, "-o: {folder}/link.jsonl is the input file"),
    ({"-o": "hard.jsonl"}, "-o: {folder}/hard.jsonl is the input file"),
    ({"-o": "cases"}, "--refused: {folder}/cases.refused.jsonl is the input file"),
    ({"-o": "r.jsonl", "--refused": "./r.jsonl"}, "--refused: {folder}/r.jsonl must not be the results file"),
], ids=["results-input", "refused-input", "symlink-input", "hard-link-input", "default-refused-input",
        "results-refused"])
def test_files_that_are_the_input_or_each_other_are_refused_first(layout: dict[str, str], named: str,
                                                                   tmp_path: Path) -> None:
    """-o or --refused naming the input (a link counts), or one another: exit 2, nothing touched."""
    folder = tmp_path / "job"
    folder.mkdir()
    source = _cases_file(folder, 5)
    if layout["-o"] == "cases":  # the default refused file of results 'cases' is the input
        source = source.rename(folder / "cases.refused.jsonl")
    (folder / "link.jsonl").symlink_to(source.name)
    os.link(source, folder / "hard.jsonl")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    options = [part for option, name in layout.items() for part in (option, str(folder / name))]
    done = run("batch", str(source), *options, "--workers", "2", "--chunk-size", "5")
    assert done.returncode == 2, done.stderr
    assert named.format(folder=folder) in done.stderr and "Traceback" not in done.stderr
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
