"""Load: a ruleset file or folder -> one merged document -> a checked ``Ruleset``.

YAML is read with a safe loader and JSON with ``json``; nothing is evaluated. A folder's
files are merged in sorted path order: exactly one holds the header, the others may add
``rules`` and ``passages``. The sha256 is taken over the merged content as canonical JSON
(sorted keys, no whitespace), so formatting and the order of files on disk do not change it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import RulesetError
from ..resources import bundled_ruleset_path
from .model import Ruleset
from .validate import ruleset_from_document

_SUFFIXES = (".yaml", ".yml", ".json")
RESERVED = frozenset({"releases", "tests", "hazards.yaml", "reviews.jsonl"})
"""Entries of a ruleset folder that are not rules: archived releases, the ruleset's own test
cases, its hazard log and its review log. They are never merged into the ruleset."""


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that keeps dates as text, as JSON would."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_document(path: Path, display: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesetError([(display, f"cannot be read: {error.strerror}")]) from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise RulesetError([(display, f"is not valid {path.suffix[1:].upper()}: {error}")]) from None


def read_merged(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Merge a ruleset file or folder into one document; return it and each rule's file."""
    if path.is_file():
        document = _read_document(path, path.name)
        if not isinstance(document, dict):
            raise RulesetError([(path.name, "must hold a mapping at the top")])
        return document, [path.name] * len(document.get("rules") or [])
    if not path.is_dir():
        raise RulesetError([(str(path), "no such ruleset file or folder")])
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES
                   and p.relative_to(path).parts[0] not in RESERVED)
    merged: dict[str, Any] = {}
    rule_files: list[str] = []
    header_file = None
    for file in files:
        display = file.relative_to(path).as_posix()
        document = _read_document(file, display)
        if document is None:
            continue
        if not isinstance(document, dict):
            raise RulesetError([(display, "must hold a mapping at the top")])
        for key, value in document.items():
            if key in ("rules", "passages"):
                if not isinstance(value, list):
                    raise RulesetError([(display, f"'{key}' must be a list")])
                merged.setdefault(key, []).extend(value)
                if key == "rules":
                    rule_files.extend([display] * len(value))
            elif key in merged:
                raise RulesetError([(display, f"'{key}' is already given in {header_file}")])
            else:
                merged[key] = value
                header_file = header_file or display
    if not files:
        raise RulesetError([(str(path), "holds no .yaml, .yml or .json file")])
    return merged, rule_files


def load_ruleset(path: str | Path | None = None) -> Ruleset:
    """Load and check a ruleset file or folder (default: the bundled ruleset).

    Raises ``RulesetError`` naming the file, the rule id and the field of every problem.
    """
    target = Path(path) if path is not None else bundled_ruleset_path()
    document, rule_files = read_merged(target)
    return ruleset_from_document(document, rule_files, str(target))


def is_valid_ruleset(path: str | Path | None = None) -> bool:
    """Whether a ruleset loads without problems (the non-raising twin of ``load_ruleset``)."""
    try:
        load_ruleset(path)
    except RulesetError:
        return False
    return True
