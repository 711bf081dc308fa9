"""Diff: two loaded rulesets -> the rules added, removed and changed, field by field.

For each changed rule the diff lists every changed field (``then[0].triage.level``,
``provenance.status`` ...) with its old and new value, and says whether the rule's version
was bumped (the new version is higher). It also reports the ruleset's own version change
and changes outside the rules (passages, definitions, conditions, checklist, header).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from .audit import versioned_items
from .model import Ruleset

DIFF_FORMATS: tuple[str, ...] = ("text", "json", "md")
_ABSENT = "(absent)"


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its dotted path and its old and new value (``"(absent)"`` if none)."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RuleChange:
    """A rule present in both rulesets whose content or version differs."""

    id: str
    old_version: str
    new_version: str
    changes: tuple[FieldChange, ...]

    @property
    def version_bumped(self) -> bool:
        """Whether the new version is higher than the old one."""
        return version_key(self.new_version) > version_key(self.old_version)

    @property
    def content_changed(self) -> bool:
        """Whether anything other than the version changed."""
        return bool(self.changes)


@dataclass(frozen=True)
class RuleRef:
    """A rule named by id, version and title (for additions and removals)."""

    id: str
    version: str
    title: str


@dataclass
class RulesetDiff:
    """Everything that differs between an old and a new ruleset."""

    name: str
    old_version: str
    new_version: str
    old_sha256: str
    new_sha256: str
    added: list[RuleRef] = field(default_factory=list)
    removed: list[RuleRef] = field(default_factory=list)
    changed: list[RuleChange] = field(default_factory=list)
    other: list[FieldChange] = field(default_factory=list)

    @property
    def ruleset_version_bumped(self) -> bool:
        """Whether the ruleset's version is higher in the new ruleset."""
        return version_key(self.new_version) > version_key(self.old_version)

    @property
    def problems(self) -> list[tuple[str, str]]:
        """Breaches of version discipline: content changed while a version stayed put."""
        found = [
            (f"{change.id}", f"changed but its version stayed {change.old_version}")
            for change in self.changed if change.content_changed and not change.version_bumped
        ]
        if self.old_sha256 != self.new_sha256 and not self.ruleset_version_bumped:
            found.append(("ruleset", f"content changed but its version stayed {self.old_version}"
                          if self.old_version == self.new_version else
                          f"content changed but its version went {self.old_version} -> "
                          f"{self.new_version}"))
        return found

    def to_dict(self) -> dict[str, Any]:
        """The diff as plain JSON values."""
        return {
            "ruleset": {
                "name": self.name, "old_version": self.old_version,
                "new_version": self.new_version, "version_bumped": self.ruleset_version_bumped,
                "old_sha256": self.old_sha256, "new_sha256": self.new_sha256,
                "content_changed": self.old_sha256 != self.new_sha256,
            },
            "added": [vars(ref) for ref in self.added],
            "removed": [vars(ref) for ref in self.removed],
            "changed": [
                {"id": c.id, "old_version": c.old_version, "new_version": c.new_version,
                 "version_bumped": c.version_bumped,
                 "changes": [vars(f) for f in c.changes]}
                for c in self.changed
            ],
            "other": [vars(f) for f in self.other],
            "problems": [{"where": w, "message": m} for w, m in self.problems],
        }


def version_key(version: str) -> Version:
    """A version as a comparable value: ``"1.10.0"`` > ``"1.9.2"``, ``"1.0.0-rc.1"`` < ``"1.0.0"``.

    Versions are checked to parse when a ruleset is validated.
    """
    return Version(version)


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every changed leaf between two JSON values, by dotted path (lists index-wise)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(FieldChange(sub, old[key], _ABSENT))
            elif key not in old:
                changes.append(FieldChange(sub, _ABSENT, new[key]))
            else:
                changes.extend(field_changes(old[key], new[key], sub))
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changes = []
        for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
            changes.extend(field_changes(old_item, new_item, f"{path}[{index}]"))
        return changes
    return [] if old == new and type(old) is type(new) else [FieldChange(path, old, new)]


def _by_id(items: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {item["id"]: item for item in items}


def diff_rulesets(old: Ruleset, new: Ruleset) -> RulesetDiff:
    """Compare two rulesets: rules added, removed and changed, and changes outside the rules."""
    result = RulesetDiff(name=new.name, old_version=old.version, new_version=new.version,
                         old_sha256=old.sha256, new_sha256=new.sha256)
    old_items = {rule_id: data for rule_id, _, data in versioned_items(old)}
    new_items = {rule_id: data for rule_id, _, data in versioned_items(new)}
    for rule_id, data in new_items.items():
        if rule_id not in old_items:
            result.added.append(RuleRef(rule_id, data["version"], _title(data)))
    for rule_id, data in old_items.items():
        if rule_id not in new_items:
            result.removed.append(RuleRef(rule_id, data["version"], _title(data)))
            continue
        new_data = new_items[rule_id]
        if data == new_data:
            continue
        changes = [c for c in field_changes(data, new_data) if c.path != "version"]
        result.changed.append(RuleChange(rule_id, data["version"], new_data["version"],
                                         tuple(changes)))
    old_rest = _outside_rules(old.data)
    new_rest = _outside_rules(new.data)
    result.other = field_changes(old_rest, new_rest)
    return result


def _title(data: Mapping[str, Any]) -> str:
    return str(data.get("title") or f"Default triage: {data.get('level')}")


def _outside_rules(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without rules and the default triage, passages keyed by id."""
    rest = {k: v for k, v in document.items() if k not in ("rules", "triage_default")}
    if "passages" in rest:
        rest["passages"] = _by_id(rest["passages"])
    return rest


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def render_diff(diff: RulesetDiff, output_format: str = "text") -> str:
    """The diff as text, JSON or Markdown."""
    if output_format == "json":
        return json.dumps(diff.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output_format not in DIFF_FORMATS:
        raise ValueError(f"unknown diff format {output_format!r}")
    md = output_format == "md"
    head = "## " if md else ""
    item = "- " if md else "  "
    lines = [
        f"{'# ' if md else ''}Ruleset {diff.name}: {diff.old_version} -> {diff.new_version} "
        f"({'version bumped' if diff.ruleset_version_bumped else 'version NOT bumped'}; "
        f"content {'changed' if diff.old_sha256 != diff.new_sha256 else 'unchanged'})",
        "",
        f"{head}Added rules ({len(diff.added)})",
    ]
    lines += [f"{item}{r.id} {r.version}: {r.title}" for r in diff.added] or [f"{item}(none)"]
    lines += ["", f"{head}Removed rules ({len(diff.removed)})"]
    lines += [f"{item}{r.id} {r.version}: {r.title}" for r in diff.removed] or [f"{item}(none)"]
    lines += ["", f"{head}Changed rules ({len(diff.changed)})"]
    if not diff.changed:
        lines.append(f"{item}(none)")
    for change in diff.changed:
        bumped = "version bumped" if change.version_bumped else "version NOT bumped"
        lines.append(f"{item}{change.id} {change.old_version} -> {change.new_version} ({bumped})")
        for f in change.changes:
            lines.append(f"{'    - ' if md else '      '}{f.path}: {_value(f.old)} -> {_value(f.new)}")
    lines += ["", f"{head}Other changes ({len(diff.other)})"]
    lines += [f"{item}{f.path}: {_value(f.old)} -> {_value(f.new)}" for f in diff.other] or [
        f"{item}(none)"]
    if diff.problems:
        lines += ["", f"{head}Version discipline problems ({len(diff.problems)})"]
        lines += [f"{item}{where}: {message}" for where, message in diff.problems]
    return "\n".join(lines) + "\n"
