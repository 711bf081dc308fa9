"""The code checks CI makes: ruff is clean and mypy --strict finds nothing in src/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_is_clean() -> None:
    """ruff (the rules in pyproject.toml) reports nothing in src/, tests/ and benchmarks/."""
    done = _run("ruff", "check", "src", "tests", "benchmarks", "docs/_hooks")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_strict_on_src() -> None:
    """mypy at --strict (settings in pyproject.toml) finds no error in src/twitchrules."""
    done = _run("mypy")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
