"""The CLI through its installed console script, as a user runs it."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import EXAMPLES, STARTER, base_case

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the twitchrules console script."""
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_evaluate_text_explains(tmp_path: Path) -> None:
    """The default output is a readable explanation naming triage, rules and ruleset."""
    done = run("evaluate", str(EXAMPLES / "mark.json"), "--ruleset", str(STARTER), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage: PROMPT")
    assert "For the auditor: the rules that fired, in firing order:" in done.stdout
    assert "Ruleset twitching" in done.stdout


def test_evaluate_json_is_the_contract(tmp_path: Path) -> None:
    """--format json prints the contract's result object."""
    done = run("evaluate", str(EXAMPLES / "mark.json"), "--format", "json",
               "--ruleset", str(STARTER))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"contract_version", "package_version", "engine", "ruleset", "triage",
            "differential", "recommendations", "checklist", "missing_information", "notices",
            "trace"} <= set(result)


def test_evaluate_reads_stdin() -> None:
    """'-' reads the case from standard input."""
    done = run("evaluate", "-", "--format", "json", "--ruleset", str(STARTER),
               stdin=json.dumps(base_case()))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["triage"]["level"] == "monitor"


def test_bundled_example_by_name_from_any_directory(tmp_path: Path) -> None:
    """A bundled example is found by name from any working directory."""
    done = run("evaluate", "mark.json", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ruleset"]["name"] == "twitching"


def _refused_by_evaluate(case: dict, tmp_path: Path) -> str:
    """``evaluate - -o FILE`` of a bad case: exit 2, nothing on stdout, no traceback, no
    file written; what it said on stderr."""
    out = tmp_path / "out.json"
    done = run("evaluate", "-", "--ruleset", str(STARTER), "-o", str(out),
               stdin=json.dumps(case))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert not out.exists()
    return done.stderr


def test_bad_case_exit_2_names_every_field(tmp_path: Path) -> None:
    """Bad input: exit 2, each field named on stderr, nothing on stdout, no traceback."""
    case = base_case(weaknes=True, sleep_hours="lots")
    case["twitching"]["regions"][0]["since"] = "2027-01-01"
    stderr = _refused_by_evaluate(case, tmp_path)
    for path in ("findings.weaknes", "findings.sleep_hours", "twitching.regions[0].since"):
        assert path in stderr
    assert "did you mean 'weakness'" in stderr


def test_qualifier_contradicting_its_parent_exit_2(tmp_path: Path) -> None:
    """Progressive weakness given beside no weakness: exit 2 naming both, nothing written."""
    stderr = _refused_by_evaluate(base_case(weakness=False, weakness_progressive=True), tmp_path)
    assert "findings.weakness_progressive: true contradicts findings.weakness: false" in stderr


def test_not_json_exit_2() -> None:
    """Input that is not JSON says so, with exit 2."""
    done = run("evaluate", "-", "--ruleset", str(STARTER), stdin="not json at all")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr
    assert done.stdout == ""


def test_missing_file_exit_2() -> None:
    """A case file that does not exist is a usage error (exit 2)."""
    done = run("evaluate", "/nonexistent/case.json")
    assert done.returncode == 2
    assert "no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_folder_as_case_is_named_a_folder(tmp_path: Path) -> None:
    """A folder given as CASE is refused as a folder (exit 2), not as a missing file."""
    done = run("evaluate", str(tmp_path))
    assert done.returncode == 2
    assert "is a folder, not a file" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_bundled_example_by_bare_name(tmp_path: Path) -> None:
    """A bundled example is found by its name with or without ``.json`` (from any folder),
    and both give the bytes the file itself gives."""
    by_file = run("evaluate", str(EXAMPLES / "mark.json"), "--format", "json", cwd=tmp_path)
    by_name = run("evaluate", "mark", "--format", "json", cwd=tmp_path)
    by_file_name = run("evaluate", "mark.json", "--format", "json", cwd=tmp_path)
    assert by_file.returncode == by_name.returncode == by_file_name.returncode == 0
    assert by_name.stdout == by_file.stdout == by_file_name.stdout


def test_output_file_written_on_success(tmp_path: Path) -> None:
    """-o writes the result to a file and nothing to stdout."""
    out = tmp_path / "result.json"
    done = run("evaluate", str(EXAMPLES / "eyelid-benign.json"), "--format", "json",
               "-o", str(out), "--ruleset", str(STARTER))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert json.loads(out.read_text())["contract_version"] == "1.1"


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["evaluate", "--help"]])
def test_help_and_version(args: list[str]) -> None:
    """Help and version work."""
    assert run(*args).returncode == 0


def test_evaluate_gives_the_garbage_collector_back() -> None:
    """The one-case command runs with the cyclic collector off and turns it on again after,
    so a caller that invokes the CLI in its own process keeps it."""
    import gc

    from click.testing import CliRunner

    from twitchrules.cli import main

    assert gc.isenabled()
    done = CliRunner().invoke(main, ["evaluate", str(EXAMPLES / "mark.json"), "--format", "json",
                                     "--ruleset", str(STARTER)])
    assert done.exit_code == 0, done.output
    assert gc.isenabled()


def test_evaluate_in_process_freezes_nothing() -> None:
    """Only the console script (``run``), whose process ends with the command, moves what the
    command made out of the collector's sight; a program calling ``main`` keeps a collector
    that sees every object."""
    import gc

    from click.testing import CliRunner

    from twitchrules.cli import main

    frozen = gc.get_freeze_count()
    done = CliRunner().invoke(main, ["evaluate", str(EXAMPLES / "mark.json"), "--format", "json",
                                     "--ruleset", str(STARTER)])
    assert done.exit_code == 0, done.output
    assert gc.get_freeze_count() == frozen and gc.isenabled()


@pytest.mark.parametrize("output_format", ["json", "html", "fhir"])
def test_console_script_writes_what_main_writes(tmp_path: Path, output_format: str) -> None:
    """The console script's process, which leaves what it made to the exit, writes the same
    bytes as ``main`` run in a process of its own: on stdout, and to a file with ``-o``."""
    arguments = ["evaluate", str(EXAMPLES / "mark.json"), "--format", output_format,
                 "--ruleset", str(STARTER)]
    by_main = [sys.executable, "-c", "from twitchrules.cli import main; main()"]
    expected = subprocess.run([*by_main, *arguments], capture_output=True, timeout=120)
    assert expected.returncode == 0, expected.stderr
    done = subprocess.run([EXE, *arguments], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected.stdout and len(done.stdout) > 1000
    assert run(*arguments, "-o", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out").read_bytes() == expected.stdout


def test_evaluate_leaves_pydantic_plugins_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-case command turns pydantic's plugins off for its run only, unless the user
    set ``PYDANTIC_DISABLE_PLUGINS`` themselves, and leaves the environment as it found it."""
    import os

    from click.testing import CliRunner

    from twitchrules.cli import main

    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    seen: list[str | None] = []
    monkeypatch.setattr("twitchrules.cli.evaluate.evaluate_command.callback",
                        lambda *args, **kwargs: seen.append(
                            os.environ.get("PYDANTIC_DISABLE_PLUGINS")))
    arguments = ["evaluate", str(EXAMPLES / "mark.json"), "--ruleset", str(STARTER)]
    assert CliRunner().invoke(main, arguments).exit_code == 0
    assert "PYDANTIC_DISABLE_PLUGINS" not in os.environ
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "")
    assert CliRunner().invoke(main, arguments).exit_code == 0
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == ""
    assert seen == ["__all__", ""]


def run_with_file_limit(*args: str, limit_bytes: int) -> subprocess.CompletedProcess:
    """Run the console script with a file size limit (SIGXFSZ ignored: the write fails with EFBIG)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, preexec_fn=limit)


def read_fifo(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    """A started thread reading everything written to ``fifo``, and the list its bytes land in."""
    received: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as stream:
            received.append(stream.read())
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return reader, received


def _impact_args(folder: Path) -> list[str]:
    cases = folder / "cases.jsonl"
    cases.write_text((EXAMPLES / "cases.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    return ["impact", str(cases), "--old", str(STARTER), "--new", str(STARTER), "--workers", "1", "-q"]


OUTPUT_COMMANDS = {
    "evaluate": lambda folder: ["evaluate", str(EXAMPLES / "mark.json"), "--format", "json"],
    "explain": lambda folder: ["explain", str(EXAMPLES / "mark.json")],
    "impact": _impact_args,
    "ruleset audit": lambda folder: ["ruleset", "audit"],
    "ruleset report": lambda folder: ["ruleset", "report", "--kind", "hti1"],
    "ruleset export-tests": lambda folder: ["ruleset", "export-tests"],
    "synth": lambda folder: ["synth", "5"],
}
"""Every command with ``-o FILE`` but batch (tests/test_population_batch.py): its arguments."""


@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
def test_an_output_that_cannot_be_written_exits_2_naming_it(command: str, tmp_path: Path) -> None:
    """-o into a missing folder: exit 2, the path and the system's reason, no traceback, no file."""
    target = tmp_path / "missing" / "out.txt"
    done = run(*OUTPUT_COMMANDS[command](tmp_path), "-o", str(target))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{target}: cannot be written: No such file or directory" in done.stderr
    assert not target.parent.exists()


@pytest.mark.parametrize("command", ["evaluate", "impact", "synth"])
def test_a_write_cut_short_leaves_the_old_file(command: str, tmp_path: Path) -> None:
    """A file size limit stops the write: exit 2, the old file as it was, no partial or stray file."""
    target = tmp_path / "out" / "previous.txt"
    target.parent.mkdir()
    target.write_bytes(b"precious\n")
    arguments = [*OUTPUT_COMMANDS[command](tmp_path), "-o", str(target)]
    if command == "synth":
        arguments[1] = "2000"  # well past the limit
    done = run_with_file_limit(*arguments, limit_bytes=512)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{target}: cannot be written: File too large" in done.stderr
    assert target.read_bytes() == b"precious\n"
    assert list(target.parent.iterdir()) == [target]


@pytest.mark.parametrize("command", ["evaluate", "synth", "ruleset audit"])
def test_an_output_through_a_symlink_replaces_its_file_not_the_link(command: str, tmp_path: Path) -> None:
    """-o LINK writes the file the link points to; the link stays a link."""
    real = tmp_path / "real.txt"
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    done = run(*OUTPUT_COMMANDS[command](tmp_path), "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text(encoding="utf-8") not in ("", "old\n")
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)  # the permissions it had
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.txt", "real.txt"]


@pytest.mark.parametrize("command", ["evaluate", "synth"])
def test_an_output_to_a_fifo_is_written_through_it(command: str, tmp_path: Path) -> None:
    """-o FIFO: the reader gets the whole output and the FIFO stays a FIFO."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader, received = read_fifo(fifo)
    done = run(*OUTPUT_COMMANDS[command](tmp_path), "-o", str(fifo))
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert received == [run(*OUTPUT_COMMANDS[command](tmp_path)).stdout.encode("utf-8")]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.fifo"]
