"""`twitchrules synth`: a realistic cohort, the same bytes per seed, its documented shares on a sample."""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from twitchrules import case_from_mapping, cohort_cases
from twitchrules.case import vocabulary as words
from twitchrules.population.cohort import MIXES, RED_FLAG_FINDINGS

from .test_cli import run

SAMPLE = 20_000


@pytest.fixture(scope="module")
def primary_care() -> list[dict]:
    """A sample of the default mix."""
    return list(cohort_cases(SAMPLE, seed=11))


def _share(cases: list[dict], test: object) -> float:
    return sum(1 for case in cases if test(case)) / len(cases)  # type: ignore[operator]


def _close(observed: float, expected: float, n: int = SAMPLE) -> bool:
    """Within five binomial standard deviations (and a floor for tiny shares)."""
    spread = 5 * math.sqrt(max(expected * (1 - expected), 1e-4) / n)
    return abs(observed - expected) <= spread


def _true(*names: str):  # noqa: ANN202 - a small predicate factory
    return lambda case: any(case["findings"].get(name) is True for name in names)


def test_same_seed_same_bytes_other_seed_other_cases(tmp_path: Path) -> None:
    """synth writes the same bytes for the same seed (file, stdout, .gz) and other cases for another."""
    first, second, packed = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl.gz"
    assert run("synth", "200", "--seed", "7", "-o", str(first)).returncode == 0
    assert run("synth", "200", "--seed", "7", "-o", str(packed)).returncode == 0
    again = run("synth", "200", "--seed", "7")
    other = run("synth", "200", "--seed", "8")
    assert again.returncode == 0 and other.returncode == 0
    assert first.read_text(encoding="utf-8") == again.stdout
    assert gzip.decompress(packed.read_bytes()).decode("utf-8") == again.stdout
    assert run("synth", "200", "--seed", "7", "-o", str(second) + ".gz").returncode == 0
    assert Path(str(second) + ".gz").read_bytes() == packed.read_bytes()
    assert other.stdout != again.stdout
    assert len(again.stdout.splitlines()) == 200


def test_ids_wrap_each_case(tmp_path: Path) -> None:
    """--ids writes {"id": "synth-SEED-N", "case": ...} around the same cases."""
    import json

    plain = run("synth", "5", "--seed", "3").stdout.splitlines()
    wrapped = run("synth", "5", "--seed", "3", "--ids").stdout.splitlines()
    for number, (bare, record) in enumerate(zip(plain, wrapped, strict=True), start=1):
        assert json.loads(record) == {"id": f"synth-3-{number}", "case": json.loads(bare)}


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_every_case_is_valid(mix: str) -> None:
    """Every drawn case passes the strict case model, in both mixes."""
    for case in cohort_cases(3000, seed=5, mix=mix):
        case_from_mapping(case)


def test_red_flag_shares_match_the_documented_mix(primary_care: list[dict]) -> None:
    """Each red flag appears in the share the mix documents (checked on a sample of 20,000)."""
    shares = MIXES["primary-care"].presentations
    expected = {
        "muscle_wasting": (_true("muscle_wasting"), shares["wasting"]),
        "breathing_difficulty": (_true("breathing_difficulty"), shares["breathing"]),
        "coordination_problems": (_true("coordination_problems"), shares["coordination"]),
        "numbness or tingling": (_true("numbness", "tingling"), shares["sensory"]),
        "slurred speech or swallowing": (_true("slurred_speech", "swallowing_difficulty"),
                                         shares["bulbar"]),
        "sudden_onset": (_true("sudden_onset"), shares["acute"]),
        "weakness": (_true("weakness"), shares["weakness"] + shares["wasting"] + shares["acute"] / 2),
    }
    for name, (test, share) in expected.items():
        observed = _share(primary_care, test)
        assert _close(observed, share), (name, observed, share)


def test_mostly_benign_with_labs_and_unknowns_in_some(primary_care: list[dict]) -> None:
    """Most cases have no red flag; labs and unanswered red-flag questions come in the documented shares."""
    mix = MIXES["primary-care"]
    no_flag = _share(primary_care, lambda c: not any(c["findings"].get(n) is True for n in
                                                     (*RED_FLAG_FINDINGS, "breathing_difficulty")))
    assert no_flag > 0.8
    labs = _share(primary_care, lambda c: any(n in c["findings"] for n in words.LAB_FINDINGS))
    lab_share = mix.presentations["lab-abnormal"]
    assert _close(labs, lab_share + (1 - lab_share) * mix.labs), labs
    unanswered = _share(primary_care, lambda c: any(n not in c["findings"] for n in RED_FLAG_FINDINGS))
    assert _close(unanswered, mix.unanswered), unanswered
    eyelid = _share(primary_care, lambda c: [r["region"] for r in c["twitching"]["regions"]] == ["eyelid"])
    assert eyelid > 0.2


def test_every_region_side_course_and_age_range(primary_care: list[dict]) -> None:
    """The sample covers every region, side and course (and an absent course), ages 16 to 95."""
    regions = Counter(r["region"] for c in primary_care for r in c["twitching"]["regions"])
    sides = Counter(r["side"] for c in primary_care for r in c["twitching"]["regions"])
    courses = Counter(c["twitching"].get("course", "(absent)") for c in primary_care)
    ages = [c["patient"]["age"] for c in primary_care]
    assert set(regions) == set(words.REGIONS)
    assert set(sides) == set(words.SIDES)
    assert set(courses) == {*words.COURSES, "(absent)"}
    assert min(ages) == 16 and max(ages) == 95
    assert _close(_share(primary_care, lambda c: c["patient"]["age"] < 18), MIXES["primary-care"].minors)


def test_contract_1_1_findings_appear(primary_care: list[dict]) -> None:
    """The cohort uses the findings added in contract 1.1 (medicines, exam signs, onset, labs)."""
    used = Counter(name for case in primary_care for name in case["findings"])
    for name in ("beta2_agonist", "lithium", "cholinesterase_inhibitor", "sodium_mmol_l", "ck_u_l",
                 "free_t4_pmol_l", "sudden_onset", "facial_weakness", "brisk_reflexes",
                 "reduced_reflexes", "weakness_since", "pregnant", "fever", "health_anxiety",
                 "bladder_or_bowel_change"):
        assert used[name] > 0, name


def test_neurology_mix_has_more_red_flags() -> None:
    """The neurology mix draws red flags and labs more often than primary care."""
    neurology = list(cohort_cases(5000, seed=2, mix="neurology"))
    primary = list(cohort_cases(5000, seed=2))
    flagged = _true(*RED_FLAG_FINDINGS, "breathing_difficulty")
    assert _share(neurology, flagged) > 2 * _share(primary, flagged)
    labs = lambda c: any(n in c["findings"] for n in words.LAB_FINDINGS)  # noqa: E731
    assert _share(neurology, labs) > 2 * _share(primary, labs)


def test_unknown_mix_is_refused_by_the_cli() -> None:
    """An unknown --mix is a usage error naming the known mixes (exit 2)."""
    done = run("synth", "3", "--mix", "icu")
    assert done.returncode == 2
    assert "primary-care" in done.stderr and "Traceback" not in done.stderr


def test_docs_show_the_mixes_as_the_code_has_them() -> None:
    """docs/population.md gives every presentation share and cross-cutting rate of both mixes as the code does."""
    from .conftest import ROOT

    page = (ROOT / "docs" / "population.md").read_text(encoding="utf-8")
    rows = {match[0]: (float(match[1]), float(match[2]))
            for match in re.findall(r"^\| `([a-z_-]+)`[^|]*\| ([0-9.]+) \| ([0-9.]+) \|", page, re.M)}
    primary, neurology = MIXES["primary-care"], MIXES["neurology"]
    for name in primary.presentations:
        assert rows[name] == (primary.presentations[name], neurology.presentations[name]), name
    for name in ("labs", "unanswered", "course_unknown", "minors", "elderly", "medicines", "health_anxiety",
                 "reflexes_examined"):
        assert rows[name] == (getattr(primary, name), getattr(neurology, name)), name
    assert set(rows) == {*primary.presentations, "labs", "unanswered", "course_unknown", "minors", "elderly",
                         "medicines", "health_anxiety", "reflexes_examined"}
