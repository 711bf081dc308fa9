"""Validate: a merged ruleset document -> a ``Ruleset``, schema first, then semantic checks.

The JSON Schema (``schemas/ruleset.schema.json``) checks the shape; ``_Checker`` checks what a
schema cannot express: ids unique, every fact a condition names provided by an input, a
computed fact or a rule, fact types and values, passages and checklist items that exist,
conclusion kinds, and a named reviewer for every reviewed rule. Every problem names the file,
the rule id and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..case.facts import COUNTERS, FactSpec, fact_catalogue
from ..case.vocabulary import CONDITIONS, QUALIFIERS, REGIONS
from ..errors import RulesetError
from ..resources import schema_path
from .conditions import Atom, Condition, atoms, parse_condition
from .model import Rule, Ruleset, canonical_sha256

if TYPE_CHECKING:
    import jsonschema

_PLAIN_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
"""A version like ``1.1.0``: valid PEP 440 without asking ``packaging`` (imported for others)."""

CONCLUSION_KINDS: tuple[str, ...] = (
    "assert", "triage", "checklist", "evidence", "recommend", "notice",
)


@lru_cache(maxsize=1)
def _schema_validator() -> jsonschema.protocols.Validator:
    import jsonschema  # only when a ruleset is checked: a cached ruleset never imports it

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
    import jsonschema

    problems = []
    errors = sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        best = jsonschema.exceptions.best_match([error])
        message = best.message
        if len(message) > 300:
            message = message[:300] + "..."
        problems.append((_locate(document, rule_files, list(best.path)), message))
    return problems


def _close_matches(word: str, possibilities: list[str]) -> list[str]:
    """The one closest of ``possibilities`` to a misspelt ``word``, if any ("did you mean")."""
    import difflib  # only when there is a problem to name

    return difflib.get_close_matches(word, possibilities, n=1)


class _Checker:
    """Semantic checks a JSON Schema cannot express."""

    def __init__(self, document: Mapping[str, Any], rule_files: list[str]) -> None:
        self.document = document
        self.rule_files = rule_files
        self.problems: list[tuple[str, str]] = []
        self.timeframes: tuple[str, ...] = ()  # definitions.timeframe_urgency, if declared
        self.advice_levels: dict[str, tuple[str | None, str]] = {}  # advice id -> (level, where)
        self.conditions: list[Condition] = []  # each rule's parsed condition, for its Rule

    def add(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def run(self) -> tuple[dict[str, FactSpec], frozenset[str]]:
        doc = self.document
        self._check_version(doc["version"], "ruleset: version")
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
            for name in qualifiers:
                # The case model refuses a qualifier true beside its parent false for the
                # contract's pairs only: a ruleset may not declare others.
                if name not in QUALIFIERS.get(parent, ()):
                    self.add(f"ruleset: definitions.qualifiers.{parent}",
                             f"'{name}' is not a qualifier of '{parent}' in the contract")
        for finding in definitions["red_flag_findings"]:
            spec = catalogue.get(finding)
            if spec is None or spec.kind != "input":
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
        self.timeframes = tuple(definitions.get("timeframe_urgency", ()))
        self._check_within(doc["triage_default"], "ruleset: triage_default")
        inputs = {spec.input_name for spec in catalogue.values() if spec.kind == "input"}
        for name in definitions.get("ask_first", ()):
            if name not in inputs:
                self.add("ruleset: definitions.ask_first", f"'{name}' is not an input of the contract")

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
            self._check_version(rule["version"], f"{where}: version")
            self._check_source(rule["provenance"], where + ": provenance", passages)
            condition = parse_condition(rule["when"])
            self.conditions.append(condition)
            for atom in atoms(condition):
                self._check_atom(atom, where, catalogue, derived)
            for position, conclusion in enumerate(rule["then"]):
                self._check_conclusion(conclusion, f"{where}: then[{position}]", doc, items)
                self._check_advice(conclusion, f"{where}: then[{position}]", catalogue, derived)
                if "evidence" in conclusion:
                    self._check_evidence_findings(conclusion["evidence"], f"{where}: then[{position}]",
                                                  catalogue, derived)
        self._check_words(doc.get("words", {}), definitions["segments"], derived)
        return catalogue, derived

    def _check_within(self, triage: Mapping[str, Any], where: str) -> None:
        """A triage names a declared timeframe category exactly when the ruleset declares them."""
        within = triage.get("within")
        if self.timeframes and within is None:
            self.add(f"{where}.within", "missing: definitions.timeframe_urgency is declared, so "
                     f"every triage names one of {list(self.timeframes)}")
        elif within is not None and not self.timeframes:
            self.add(f"{where}.within", "needs definitions.timeframe_urgency (the declared order)")
        elif within is not None and within not in self.timeframes:
            self.add(f"{where}.within", f"'{within}' is not one of {list(self.timeframes)}")

    def _check_advice(self, conclusion: Mapping[str, Any], where: str,
                      catalogue: Mapping[str, FactSpec], derived: frozenset[str]) -> None:
        """Triage timeframes and the filters of a recommendation (up_to_level, unless)."""
        if "triage" in conclusion:
            self._check_within(conclusion["triage"], f"{where}.triage")
        body = conclusion.get("recommend")
        if not isinstance(body, Mapping):
            return
        level = body.get("up_to_level")
        first = self.advice_levels.setdefault(body["id"], (level, where))
        if first[0] != level:
            self.add(f"{where}.recommend.up_to_level",
                     f"recommendation '{body['id']}' has up_to_level {level!r} here but "
                     f"{first[0]!r} in {first[1]} (one piece of advice, one level)")
        for name in body.get("unless", ()):
            spec = catalogue.get(name)
            if name not in derived and (spec is None or spec.type != "boolean"):
                self.add(f"{where}.recommend.unless", f"'{name}' is not a true/false fact")

    def _check_evidence_findings(self, body: Mapping[str, Any], where: str,
                                 catalogue: Mapping[str, FactSpec], derived: frozenset[str]) -> None:
        """Evidence names facts a reader sees in words: each must be a known fact."""
        for name in body.get("findings", []):
            if name not in catalogue and name not in derived:
                close = _close_matches(name, [*catalogue, *derived])
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(f"{where}.evidence.findings", f"unknown fact '{name}'{hint}")

    def _check_words(self, words: Mapping[str, Any], segments: Mapping[str, Any],
                     derived: frozenset[str]) -> None:
        """The ruleset's words name facts its rules derive and segments it defines."""
        for name in words.get("facts", {}):
            if name not in derived:
                close = _close_matches(name, sorted(derived))
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(f"ruleset: words.facts.{name}", f"no rule asserts '{name}'{hint}")
        for name in words.get("segments", {}):
            if name not in segments:
                self.add(f"ruleset: words.segments.{name}", f"'{name}' is not a segment of definitions.segments")

    def _check_version(self, version: str, where: str) -> None:
        if _PLAIN_RELEASE.fullmatch(version):
            return
        from packaging.version import InvalidVersion, Version

        try:
            Version(version)
        except InvalidVersion:
            self.add(where, f"'{version}' is not a version that sorts (use e.g. 1.1.0 or 1.1.0-rc.1)")

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
            close = _close_matches(atom.fact, [*catalogue, *derived, *COUNTERS])
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
    document: Any, rule_files: list[str] | None = None, path: str = "<memory>", *,
    schema_checked: bool = False, sha256: str | None = None,
) -> Ruleset:
    """Check a merged ruleset document and build the ``Ruleset``; raise ``RulesetError``.

    ``schema_checked`` skips the JSON Schema (the slow part) for a document that passed it
    before, byte for byte (the disk cache of ``load``); the semantic checks always run.
    ``sha256`` is the document's ``canonical_sha256`` when the caller has just computed it.
    """
    if not isinstance(document, dict):
        raise RulesetError([(path, "must hold a mapping at the top")])
    rule_files = rule_files or [path] * len(document.get("rules") or [])
    problems = [] if schema_checked else _schema_problems(document, rule_files)
    if problems:
        raise RulesetError([(f"{path}: {loc}", msg) for loc, msg in problems])
    checker = _Checker(document, rule_files)
    catalogue, derived = checker.run()
    if checker.problems:
        raise RulesetError([(f"{path}: {loc}", msg) for loc, msg in checker.problems])
    rules = tuple(
        Rule(
            id=data["id"], version=data["version"], title=data["title"],
            condition=checker.conditions[index], then=tuple(data["then"]),
            explanation=data["explanation"], provenance=data["provenance"],
            index=index, file=rule_files[index], data=data,
        )
        for index, data in enumerate(document["rules"])
    )
    return Ruleset(
        name=document["name"], version=document["version"], sha256=sha256 or canonical_sha256(document),
        path=path, data=document, rules=rules, catalogue=catalogue, derived_names=derived,
    )


