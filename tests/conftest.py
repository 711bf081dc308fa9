"""Shared fixtures: paths and small case builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "tests" / "fixtures" / "starter"
EXAMPLES = ROOT / "examples"
CASES_DIR = ROOT / "rulesets" / "twitching" / "tests"
"""The bundled ruleset's own expected-outcome case files."""


@pytest.fixture
def starter_ruleset() -> Path:
    """The small starter ruleset the core tests use (independent of clinical content)."""
    return STARTER


def base_case(**findings: Any) -> dict[str, Any]:
    """A short single-site case with the given findings."""
    return {
        "assessed_on": "2026-11-20",
        "patient": {"age": 35, "sex": "female"},
        "twitching": {"regions": [{"region": "calf", "side": "left", "since": "2026-11-15"}],
                      "course": "stable"},
        "findings": dict(findings),
    }


def load_example(name: str) -> dict[str, Any]:
    """A bundled example case as a dict."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def with_changes(case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a case with top-level keys replaced."""
    changed = copy.deepcopy(case)
    changed.update(changes)
    return changed
