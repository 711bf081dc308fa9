"""Ruleset tests: the expected-outcome case files that live with a ruleset, and how to check them.

A ruleset folder's ``tests/`` holds one JSON file per case, written by a ruleset author
without Python::

    {"id": "<file stem>", "title": "...", "source": "<where the expectation comes from>",
     "case": {<a contract case>}, "expect": {<keys of KNOWN_KEYS, each optional>}}

``load_case_files`` reads and checks them (a bad file is a ``RulesetError`` naming the file
and the field); ``mismatches`` compares a result (the contract JSON) with an ``expect``
block and says every departure in words. Running the cases needs an engine, so it lives
above the pipeline (``twitchrules.verify.suite``); nothing here runs one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..case.reading import JsonProblem, parse_json
from ..case.vocabulary import TRIAGE_LEVELS
from ..errors import RulesetError
from .model import Ruleset

TESTS = "tests"
"""The folder of a ruleset folder that holds its expected-outcome case files."""


REQUIRED_KEYS: tuple[str, ...] = ("id", "title", "source", "case", "expect")
"""The keys every case file has."""

LEVELS: list[str] = list(TRIAGE_LEVELS)

KNOWN_KEYS: frozenset[str] = frozenset({
    "triage", "triage_at_least", "triage_timeframe_includes",
    "differential_includes", "differential_excludes", "differential_first",
    "differential_before", "differential_tests_include",
    "checklist", "checklist_count", "checklist_count_at_least",
    "missing_information_includes", "missing_information_excludes", "missing_information_first",
    "recommendations_include", "recommendations_exclude",
    "recommendations_text_include", "recommendations_text_exclude",
    "notices_include", "notices_exclude",
})
"""The expect keys a case file may use (each optional). Text checks are case-insensitive
substrings; ``differential_before: [[a, b]]`` means a is listed and, if b is listed too, a
ranks above b."""


MEMBERSHIP_KEYS: tuple[tuple[str, str, bool], ...] = (
    ("differential_includes", "differential", True),
    ("differential_excludes", "differential", False),
    ("missing_information_includes", "missing_information", True),
    ("missing_information_excludes", "missing_information", False),
    ("recommendations_include", "recommendations", True),
    ("recommendations_exclude", "recommendations", False),
    ("notices_include", "notices", True),
    ("notices_exclude", "notices", False),
)
"""The expect keys that say an id must (True) or must not (False) be listed in a part."""

WORDING_KEYS: tuple[tuple[str, str, bool], ...] = (
    ("triage_timeframe_includes", "triage timeframe", True),
    ("recommendations_text_include", "recommendations", True),
    ("recommendations_text_exclude", "recommendations", False),
)
"""The expect keys that say some words must (True) or must not (False) appear in a part."""


def listed_ids(result: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ids each listing part of a result shows, in its order."""
    return {
        "differential": [entry["condition"] for entry in result["differential"]],
        "missing_information": [entry["input"] for entry in result["missing_information"]],
        "recommendations": [entry["id"] for entry in result["recommendations"]],
        "notices": [entry["code"] for entry in result["notices"]],
    }


def _texts(result: Mapping[str, Any]) -> dict[str, list[str]]:
    """The words each worded part of a result shows, lower-cased."""
    return {
        "triage timeframe": [result["triage"]["timeframe"].lower()],
        "recommendations": [entry["text"].lower() for entry in result["recommendations"]],
    }


def _ranking_problems(expect: Mapping[str, Any], listed: list[str]) -> list[str]:
    """How the differential's order departs from ``differential_first`` and ``differential_before``."""
    problems: list[str] = []
    if "differential_first" in expect and listed[:1] != [expect["differential_first"]]:
        problems.append(f"differential first is {listed[:1]}, expected {expect['differential_first']}")
    for above, below in expect.get("differential_before", []):
        if above not in listed:
            problems.append(f"differential lacks {above} (expected above {below}; has {listed})")
        elif below in listed and listed.index(above) > listed.index(below):
            problems.append(f"differential ranks {below} above {above} (has {listed})")
    return problems


def _checklist_problems(expect: Mapping[str, Any], checklist: Mapping[str, Any]) -> list[str]:
    """How the checklist departs from ``checklist``, ``checklist_count`` and ``..._at_least``."""
    problems: list[str] = []
    statuses = {item["id"]: item["status"] for item in checklist["items"]}
    for item, status in expect.get("checklist", {}).items():
        if statuses.get(item) != status:
            problems.append(f"checklist {item} is {statuses.get(item)}, expected {status}")
    count = checklist["count"]
    if "checklist_count" in expect and count != expect["checklist_count"]:
        problems.append(f"checklist count is {count}, expected {expect['checklist_count']}")
    if "checklist_count_at_least" in expect and count < expect["checklist_count_at_least"]:
        problems.append(f"checklist count is {count}, expected >= {expect['checklist_count_at_least']}")
    return problems


def mismatches(expect: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    """Every way a result departs from an expect block, in words."""
    problems: list[str] = []
    level = result["triage"]["level"]
    if "triage" in expect and level != expect["triage"]:
        problems.append(f"triage is {level}, expected {expect['triage']}")
    if "triage_at_least" in expect and LEVELS.index(level) < LEVELS.index(expect["triage_at_least"]):
        problems.append(f"triage is {level}, expected at least {expect['triage_at_least']}")
    listed = listed_ids(result)
    for key, part, wanted in MEMBERSHIP_KEYS:
        for item in expect.get(key, []):
            if (item in listed[part]) != wanted:
                verb = "lacks" if wanted else "lists"
                problems.append(f"{part} {verb} {item} (has {listed[part]})")
    texts = _texts(result)
    for key, part, wanted in WORDING_KEYS:
        for words in expect.get(key, []):
            if any(words.lower() in text for text in texts[part]) != wanted:
                verb = "lack" if wanted else "mention"
                problems.append(f"{part} {verb} {words!r} (have {texts[part]!r})")
    problems += _ranking_problems(expect, listed["differential"])
    tests_of = {entry["condition"]: " | ".join(entry["tests"]).lower()
                for entry in result["differential"]}
    for condition, wanted_words in expect.get("differential_tests_include", {}).items():
        for words in wanted_words:
            if words.lower() not in tests_of.get(condition, ""):
                problems.append(f"tests of {condition} lack {words!r} (have {tests_of.get(condition)!r})")
    problems += _checklist_problems(expect, result["checklist"])
    if "missing_information_first" in expect and (
            listed["missing_information"][:1] != [expect["missing_information_first"]]):
        problems.append(f"missing_information first is {listed['missing_information'][:1]}, "
                        f"expected {expect['missing_information_first']}")
    return problems


@dataclass(frozen=True)
class CaseFile:
    """One expected-outcome case: the case, what the result must show, and whence."""

    id: str
    title: str
    source: str
    case: Mapping[str, Any]
    expect: Mapping[str, Any]
    path: Path


def tests_folder(ruleset: Ruleset) -> Path | None:
    """The ``tests/`` folder of a ruleset loaded from a folder, or ``None`` when it has none."""
    folder = Path(ruleset.path) / TESTS
    return folder if folder.is_dir() else None


def read_case_file(path: Path) -> CaseFile:
    """Read and check one case file; ``RulesetError`` names the file and the field."""
    where = path.name
    try:
        data = parse_json(path.read_bytes())
    except OSError as error:
        raise RulesetError([(where, f"cannot be read: {error.strerror}")]) from None
    except JsonProblem as problem:
        raise RulesetError([(f"{where}: {problem.location}" if problem.location else where,
                             problem.message)]) from None
    if not isinstance(data, dict):
        raise RulesetError([(where, "must hold a JSON object")])
    problems = [(f"{where}: {key}", "is required") for key in REQUIRED_KEYS if key not in data]
    problems += [(f"{where}: {key}", f"is not a case file key (known: {', '.join(REQUIRED_KEYS)})")
                 for key in sorted(set(data) - set(REQUIRED_KEYS))]
    if not problems:
        if data["id"] != path.stem:
            problems.append((f"{where}: id", f"'{data['id']}' must be the file name's stem '{path.stem}'"))
        if not isinstance(data["case"], dict):
            problems.append((f"{where}: case", "must be a JSON object (a contract case)"))
        if not isinstance(data["expect"], dict):
            problems.append((f"{where}: expect", "must be a JSON object"))
        else:
            problems += [(f"{where}: expect.{key}", "is not a known expect key")
                         for key in sorted(set(data["expect"]) - KNOWN_KEYS)]
    if problems:
        raise RulesetError(problems)
    return CaseFile(id=str(data["id"]), title=str(data["title"]), source=str(data["source"]),
                    case=data["case"], expect=data["expect"], path=path)


def load_case_files(folder: str | Path) -> list[CaseFile]:
    """Every ``*.json`` case file of a folder, sorted by name; every bad file is named at once."""
    root = Path(folder)
    if not root.is_dir():
        raise RulesetError([(str(root), "no such folder of case files")])
    found: list[CaseFile] = []
    problems: list[tuple[str, str]] = []
    for path in sorted(root.glob("*.json")):
        try:
            found.append(read_case_file(path))
        except RulesetError as error:
            problems += error.problems
    if problems:
        raise RulesetError(problems)
    if not found:
        raise RulesetError([(str(root), "holds no .json case file")])
    return found
