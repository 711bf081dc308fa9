"""Case files: every rulesets/twitching/tests/*.json gives the result its expect block states.

The checker is the package's own (``twitchrules.ruleset.testing``), the one ``twitchrules
ruleset test`` runs, so pytest and a ruleset author see the same verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twitchrules import evaluate
from twitchrules.ruleset.testing import KNOWN_KEYS, mismatches, read_case_file

from .conftest import CASES_DIR

CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def load_case_file(path: Path) -> dict[str, Any]:
    """One case file as a dict."""
    return json.loads(path.read_text(encoding="utf-8"))


def test_enough_case_files() -> None:
    """There are at least 40 case files, each with a unique id matching its file name."""
    assert len(CASE_FILES) >= 40
    ids = [load_case_file(path)["id"] for path in CASE_FILES]
    assert len(ids) == len(set(ids))
    assert all(path.stem == load_case_file(path)["id"] for path in CASE_FILES)


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_case_file(path: Path) -> None:
    """The bundled ruleset gives the result the case file expects."""
    read_case_file(path)  # the package's reader accepts it (keys, id, expect keys)
    data = load_case_file(path)
    assert {"id", "title", "source", "case", "expect"} <= set(data)
    assert set(data["expect"]) <= KNOWN_KEYS, f"unknown expect keys: {set(data['expect']) - KNOWN_KEYS}"
    result = evaluate(data["case"]).model_dump(mode="json", by_alias=True)
    problems = mismatches(data["expect"], result)
    assert not problems, f"{path.name}: " + "; ".join(problems)


def _ranked(case: dict[str, Any]) -> dict[str, tuple[int, float]]:
    return {entry.condition: (entry.rank, entry.score) for entry in evaluate(case).differential}


def test_adding_wasting_moves_als_up() -> None:
    """Adding visible wasting to Mark's full history raises ALS's score and moves it above MMN."""
    case = load_case_file(CASES_DIR / "mark-full-history.json")["case"]
    before = _ranked(case)
    case["findings"]["muscle_wasting"] = True
    after = _ranked(case)
    assert before["mmn"][0] < before["als"][0]
    assert after["als"][1] > before["als"][1]
    assert after["als"][0] == 1 and after["mmn"][0] == 2


def test_normal_tsh_lowers_thyroid_score() -> None:
    """A normal TSH counts against thyroid dysfunction supported by symptoms."""
    case = load_case_file(CASES_DIR / "prompt-low-tsh-hyperthyroid.json")["case"]
    del case["findings"]["tsh_miu_l"]
    symptoms_only = _ranked(case)["thyroid_dysfunction"][1]
    case["findings"]["tsh_miu_l"] = 1.8
    with_normal_tsh = _ranked(case)["thyroid_dysfunction"][1]
    assert with_normal_tsh < symptoms_only
