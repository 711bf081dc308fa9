"""Ruleset: a ruleset file or folder -> a checked, hashed ``Ruleset`` (schema first, then semantics).

YAML is read with ``yaml.safe_load`` and JSON with ``json``; nothing is evaluated. A folder's
files are merged in sorted path order: exactly one holds the header, the others may add
``rules`` and ``passages``. The sha256 is taken over the merged content as canonical JSON
(sorted keys, no whitespace), so formatting and the order of files on disk do not change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ._conditions import Atom, Condition, atoms, parse_condition
from ._errors import RulesetError
from ._facts import COUNTERS, FactSpec, fact_catalogue
from ._resources import bundled_ruleset_path, schema_path
from ._vocabulary import CONDITIONS, REGIONS

CONCLUSION_KINDS: tuple[str, ...] = (
    "assert", "triage", "checklist", "evidence", "recommend", "notice",
)
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Rule:
    """One rule: when its condition is true it concludes ``then``; provenance says who and whence."""

    id: str
    version: str
    title: str
    condition: Condition
    then: tuple[Mapping[str, Any], ...]
    explanation: str
    provenance: Mapping[str, Any]
    index: int
    file: str
    data: Mapping[str, Any] = field(repr=False)

    @cached_property
    def _by_kind(self) -> dict[str, list[Any]]:
        by_kind: dict[str, list[Any]] = {}
        for item in self.then:
            for kind, body in item.items():
                by_kind.setdefault(kind, []).append(body)
        return by_kind

    def conclusions(self, kind: str) -> list[Any]:
        """The bodies of this rule's conclusions of one kind, in order."""
        return self._by_kind.get(kind, [])

    @cached_property
    def evidence(self) -> list[Mapping[str, Any]]:
        """This rule's differential evidence conclusions, in order."""
        return self.conclusions("evidence")

    @cached_property
    def condition_facts(self) -> tuple[str, ...]:
        """The fact names its condition tests, each once, in reading order."""
        return tuple(dict.fromkeys(atom.fact for atom in atoms(self.condition)))

    @cached_property
    def triage(self) -> Mapping[str, Any] | None:
        """The triage this rule sets, if any."""
        found = self.conclusions("triage")
        return found[0] if found else None


@dataclass(frozen=True)
class Ruleset:
    """A loaded, validated ruleset: header data, rules in order, and its content hash."""

    name: str
    version: str
    sha256: str
    path: str
    data: Mapping[str, Any] = field(repr=False)
    rules: tuple[Rule, ...] = field(repr=False)
    catalogue: Mapping[str, FactSpec] = field(repr=False)
    derived_names: frozenset[str] = field(repr=False)

    @property
    def definitions(self) -> Mapping[str, Any]:
        """The ruleset's definitions (segments, thresholds, red-flag findings)."""
        return self.data["definitions"]

    @cached_property
    def passages(self) -> dict[str, Mapping[str, Any]]:
        """The quoted source passages, by id."""
        return {p["id"]: p for p in self.data.get("passages", [])}

    @cached_property
    def input_names(self) -> dict[str, str]:
        """Facts that may be unknown, mapped to the contract input name they report as."""
        return {name: spec.input_name for name, spec in self.catalogue.items() if spec.kind == "input"}

    @cached_property
    def input_order(self) -> dict[str, int]:
        """Contract input names in catalogue order (the order missing information is listed in)."""
        return {name: position for position, name in enumerate(self.input_names.values())}

    @cached_property
    def producers(self) -> dict[str, list[Rule]]:
        """For each derived fact, the rules that assert it."""
        found: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for name in rule.conclusions("assert"):
                found.setdefault(name, []).append(rule)
        return found

    @cached_property
    def checklist_producers(self) -> list[Rule]:
        """The rules that can make a checklist item met."""
        return [rule for rule in self.rules
                if any(body["status"] == "met" for body in rule.conclusions("checklist"))]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def source_label(self, provenance: Mapping[str, Any]) -> str:
        """Words naming a provenance's source: the passage label, or the reference."""
        source = provenance["source"]
        if "passage" in source:
            passage = self.passages[source["passage"]]
            return str(passage["label"])
        return str(source.get("reference") or source.get("note"))


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


def _read_merged(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Merge a ruleset file or folder into one document; return it and each rule's file."""
    if path.is_file():
        document = _read_document(path, path.name)
        if not isinstance(document, dict):
            raise RulesetError([(path.name, "must hold a mapping at the top")])
        return document, [path.name] * len(document.get("rules") or [])
    if not path.is_dir():
        raise RulesetError([(str(path), "no such ruleset file or folder")])
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
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


def canonical_sha256(document: Mapping[str, Any]) -> str:
    """sha256 of a ruleset document as canonical JSON (sorted keys, compact, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path("ruleset").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _locate(document: Mapping[str, Any], rule_files: list[str], path: list[Any]) -> str:
    """Name the place of a schema error: file, rule id and field."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        index = path[1]
        rule = document["rules"][index]
        rule_id = rule.get("id", f"rules[{index}]") if isinstance(rule, dict) else f"rules[{index}]"
        field_path = ".".join(str(p) for p in path[2:]) or "(rule)"
        return f"{rule_files[index]}: {rule_id}: {field_path}"
    return "ruleset: " + (".".join(str(p) for p in path) or "(top)")


def _schema_problems(document: Mapping[str, Any], rule_files: list[str]) -> list[tuple[str, str]]:
    problems = []
    errors = sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        best = jsonschema.exceptions.best_match([error])
        message = best.message
        if len(message) > 300:
            message = message[:300] + "..."
        problems.append((_locate(document, rule_files, list(best.path)), message))
    return problems


class _Checker:
    """Semantic checks a JSON Schema cannot express."""

    def __init__(self, document: Mapping[str, Any], rule_files: list[str]) -> None:
        self.document = document
        self.rule_files = rule_files
        self.problems: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def run(self) -> tuple[dict[str, FactSpec], frozenset[str]]:
        doc = self.document
        definitions = doc["definitions"]
        for segment, members in definitions["segments"].items():
            for region in members:
                if region not in REGIONS:
                    self.add(f"ruleset: definitions.segments.{segment}", f"unknown region '{region}'")
        catalogue = fact_catalogue(definitions["segments"])
        for parent, qualifiers in definitions.get("qualifiers", {}).items():
            for name in (parent, *qualifiers):
                spec = catalogue.get(name)
                if spec is None or spec.kind != "input" or spec.type != "boolean":
                    self.add(f"ruleset: definitions.qualifiers.{parent}",
                             f"'{name}' is not a true/false finding")
        for finding in definitions["red_flag_findings"]:
            if catalogue.get(finding, FactSpec("", "", "")).kind != "input":
                self.add("ruleset: definitions.red_flag_findings", f"unknown finding '{finding}'")
        for condition_id in doc["conditions"]:
            if condition_id not in CONDITIONS:
                self.add(f"ruleset: conditions.{condition_id}", "not a condition of the contract")
        passages = [p["id"] for p in doc.get("passages", [])]
        for duplicate in sorted({p for p in passages if passages.count(p) > 1}):
            self.add(f"ruleset: passages: {duplicate}", "duplicate passage id")
        items = {item["id"] for item in doc["checklist"]["items"]}
        for item in doc["checklist"]["items"]:
            if "passage" in item and item["passage"] not in passages:
                self.add(f"ruleset: checklist.{item['id']}.passage", f"unknown passage '{item['passage']}'")
        self._check_source(doc["triage_default"]["provenance"], "ruleset: triage_default", passages)

        rules = doc["rules"]
        derived = frozenset(
            c["assert"] for rule in rules for c in rule["then"] if "assert" in c
        )
        for name in sorted(derived & set(catalogue)):
            self.add("ruleset: rules", f"derived fact '{name}' shadows a case fact")
        seen: dict[str, str] = {}
        for index, rule in enumerate(rules):
            where = f"{self.rule_files[index]}: {rule['id']}"
            if rule["id"] in seen:
                self.add(f"{where}: id", f"duplicate rule id (first in {seen[rule['id']]})")
            seen.setdefault(rule["id"], self.rule_files[index])
            self._check_source(rule["provenance"], where + ": provenance", passages)
            for atom in atoms(parse_condition(rule["when"])):
                self._check_atom(atom, where, catalogue, derived)
            for position, conclusion in enumerate(rule["then"]):
                self._check_conclusion(conclusion, f"{where}: then[{position}]", doc, items)
        return catalogue, derived

    def _check_source(self, provenance: Mapping[str, Any], where: str, passages: list[str]) -> None:
        passage = provenance["source"].get("passage")
        if passage is not None and passage not in passages:
            self.add(f"{where}.source.passage", f"unknown passage '{passage}'")
        if provenance["status"] == "reviewed" and not provenance.get("reviewer"):
            self.add(f"{where}.reviewer", "status 'reviewed' needs a named reviewer")

    def _check_atom(
        self, atom: Atom, where: str, catalogue: Mapping[str, FactSpec], derived: frozenset[str]
    ) -> None:
        field_where = f"{where}: when ({atom.fact})"
        if atom.fact in derived:
            if not (atom.op == "is" and atom.value is True):
                self.add(field_where, "a derived fact can only be tested with 'is: true'")
            return
        if atom.fact in COUNTERS:
            if atom.op not in ("gt", "gte"):
                self.add(field_where, "a counter can only be tested with 'gt' or 'gte'")
            return
        spec = catalogue.get(atom.fact)
        if spec is None:
            import difflib

            close = difflib.get_close_matches(atom.fact, [*catalogue, *derived, *COUNTERS], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.add(field_where, f"unknown fact '{atom.fact}': no input, computed fact or rule provides it{hint}")
            return
        values = atom.value if atom.op == "in" else (atom.value,)
        for value in values:
            if atom.op in ("gt", "gte", "lt", "lte") and spec.type != "number":
                self.add(field_where, f"'{atom.op}' needs a number fact, '{atom.fact}' is {spec.type}")
            elif spec.type == "boolean" and not isinstance(value, bool):
                self.add(field_where, f"'{atom.fact}' is true/false, not {value!r}")
            elif spec.type == "enum" and value not in spec.values:
                self.add(field_where, f"'{value}' is not one of {list(spec.values)}")
            elif spec.type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                self.add(field_where, f"'{atom.fact}' is a number, not {value!r}")

    def _check_conclusion(
        self, conclusion: Mapping[str, Any], where: str, doc: Mapping[str, Any], items: set[str]
    ) -> None:
        (kind,) = conclusion.keys()
        if kind not in CONCLUSION_KINDS:
            self.add(where, f"unknown conclusion kind '{kind}' (known: {', '.join(CONCLUSION_KINDS)})")
            return
        body = conclusion[kind]
        if kind == "checklist" and body["item"] not in items:
            self.add(f"{where}.checklist.item", f"unknown checklist item '{body['item']}'")
        if kind == "evidence" and body["condition"] not in doc["conditions"]:
            self.add(f"{where}.evidence.condition", f"unknown condition '{body['condition']}'")


def ruleset_from_document(
    document: Any, rule_files: list[str] | None = None, path: str = "<memory>"
) -> Ruleset:
    """Check a merged ruleset document and build the ``Ruleset``; raise ``RulesetError``."""
    if not isinstance(document, dict):
        raise RulesetError([(path, "must hold a mapping at the top")])
    rule_files = rule_files or [path] * len(document.get("rules") or [])
    problems = _schema_problems(document, rule_files)
    if problems:
        raise RulesetError([(f"{path}: {loc}", msg) for loc, msg in problems])
    checker = _Checker(document, rule_files)
    catalogue, derived = checker.run()
    if checker.problems:
        raise RulesetError([(f"{path}: {loc}", msg) for loc, msg in checker.problems])
    rules = tuple(
        Rule(
            id=data["id"], version=data["version"], title=data["title"],
            condition=parse_condition(data["when"]), then=tuple(data["then"]),
            explanation=data["explanation"], provenance=data["provenance"],
            index=index, file=rule_files[index], data=data,
        )
        for index, data in enumerate(document["rules"])
    )
    return Ruleset(
        name=document["name"], version=document["version"], sha256=canonical_sha256(document),
        path=path, data=document, rules=rules, catalogue=catalogue, derived_names=derived,
    )


def load_ruleset(path: str | Path | None = None) -> Ruleset:
    """Load and check a ruleset file or folder (default: the bundled ruleset).

    Raises ``RulesetError`` naming the file, the rule id and the field of every problem.
    """
    target = Path(path) if path is not None else bundled_ruleset_path()
    document, rule_files = _read_merged(target)
    return ruleset_from_document(document, rule_files, str(target))


def is_valid_ruleset(path: str | Path | None = None) -> bool:
    """Whether a ruleset loads without problems (the non-raising twin of ``load_ruleset``)."""
    try:
        load_ruleset(path)
    except RulesetError:
        return False
    return True
