"""Extras fail cleanly: in the README's install (no extras), a command needing one names it, exit 2.

The venv is the one the README's first line makes in a fresh copy (``pip install .``, no
extras; see tests/docs_blocks.py), so this is what a new user sees.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .docs_blocks import Outcome, free_port

# Every command or option that needs an extra, with the extra it needs.
NEEDS_EXTRA = [
    (["serve", "--port", "{port}"], "service"),
    (["fhir", "to-case", "examples/mark-bundle.json"], "service"),
    (["batch", "examples/cases.jsonl", "-o", "out/results.jsonl", "--workers", "2"], "scale"),
    (["batch", "examples/cases.jsonl", "-o", "out/results.jsonl", "--scheduler", "tcp://127.0.0.1:{port}"],
     "scale"),
    (["impact", "--old", "twitching@1.0.0", "--new", "rulesets/twitching", "examples/cases.jsonl",
      "--workers", "2", "-o", "out/impact.txt"], "scale"),
]
# What works without any extra (the core install), as a user would run it.
WORKS_WITHOUT = [
    ["evaluate", "examples/mark.json", "--format", "text"],
    ["evaluate", "examples/mark.json", "--format", "json"],
    ["evaluate", "examples/mark.json", "--format", "html", "-o", "out/mark.html"],
    ["evaluate", "examples/mark.json", "--format", "fhir"],
    ["fhir", "questionnaire"],
    ["ruleset", "validate"],
    ["batch", "examples/cases.jsonl", "-o", "out/one.jsonl"],
]


def _run(install: tuple[Path, Outcome], args: list[str]) -> subprocess.CompletedProcess[str]:
    workdir, outcome = install
    assert outcome.status == 0, outcome.report()
    (workdir / "out").mkdir(exist_ok=True)
    port = str(free_port())
    return subprocess.run([str(workdir / ".venv" / "bin" / "twitchrules"),
                           *[a.replace("{port}", port) for a in args]],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


def test_the_readme_install_has_no_extras(readme_install: tuple[Path, Outcome]) -> None:
    """The venv under test really lacks every extra's packages (or the test would prove nothing)."""
    workdir, _ = readme_install
    probe = "import importlib.util as u; print([m for m in ('fastapi', 'fhir', 'distributed') if u.find_spec(m)])"
    done = subprocess.run([str(workdir / ".venv" / "bin" / "python"), "-c", probe],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize(("args", "extra"), NEEDS_EXTRA, ids=[" ".join(a[:2]) + f" ({e})" for a, e in NEEDS_EXTRA])
def test_a_command_needing_an_extra_names_it_and_exits_2(
        readme_install: tuple[Path, Outcome], args: list[str], extra: str) -> None:
    """Exit 2, the extra and how to install it from the checkout, no traceback, nothing written."""
    done = _run(readme_install, args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the '{extra}' extra" in done.stderr and f'pip install ".[{extra}]"' in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert list((readme_install[0] / "out").glob("results*")) == []
    assert not (readme_install[0] / "out" / "impact.txt").exists()


@pytest.mark.parametrize("args", WORKS_WITHOUT, ids=[" ".join(a[:3]) for a in WORKS_WITHOUT])
def test_the_core_commands_work_without_extras(readme_install: tuple[Path, Outcome], args: list[str]) -> None:
    """Evaluate in every format, the Questionnaire, validation and a one-process batch need no extra."""
    done = _run(readme_install, args)
    assert done.returncode == 0, done.stderr


HELP_ALL = """
import json, click
from click.testing import CliRunner
from twitchrules.cli import main

def walk(group, prefix):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield [*prefix, name]
        if isinstance(command, click.Group):
            yield from walk(command, [*prefix, name])

failed = {}
for path in walk(main, []):
    done = CliRunner().invoke(main, [*path, "--help"])
    if done.exit_code != 0 or "Usage:" not in done.output:
        failed[" ".join(path)] = repr(done.exception)
print(json.dumps({"commands": sum(1 for _ in walk(main, [])), "failed": failed}))
"""


def test_every_command_helps_without_extras(readme_install: tuple[Path, Outcome]) -> None:
    """`--help` of every command works in the core install (no extra is imported to start)."""
    workdir, outcome = readme_install
    assert outcome.status == 0, outcome.report()
    done = subprocess.run([str(workdir / ".venv" / "bin" / "python"), "-c", HELP_ALL],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["commands"] >= 10 and report["failed"] == {}
