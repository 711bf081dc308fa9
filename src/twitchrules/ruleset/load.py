"""Load: a ruleset file or folder -> one merged document -> a checked ``Ruleset``.

YAML is read with a safe loader (libyaml's scanner and parser where PyYAML has them) that
also refuses aliases (``*name``: an alias bomb expands to gigabytes), nesting deeper than
``MAX_DEPTH`` levels and a key given twice in a mapping; JSON is read by the case package's
strict reader, with the same limits. Nothing is evaluated. A folder's files are merged in
sorted path order: exactly one holds the header, the others may add ``rules`` and
``passages``. The sha256 is taken over the merged content as canonical JSON
(sorted keys, no whitespace), so formatting and the order of files on disk do not change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..case.reading import MAX_JSON_DEPTH, JsonProblem, parse_json
from ..errors import RulesetError
from ..resources import bundled_ruleset_path
from .model import Ruleset
from .validate import ruleset_from_document

_SUFFIXES = (".yaml", ".yml", ".json")
RESERVED = frozenset({"releases", "tests", "hazards.yaml", "reviews.jsonl"})
"""Entries of a ruleset folder that are not rules: archived releases, the ruleset's own test
cases, its hazard log and its review log. They are never merged into the ruleset."""


MAX_DEPTH = MAX_JSON_DEPTH
"""Deepest nesting of mappings and lists a ruleset document may have (the bundled one needs 12)."""


class _Hardened:
    """What a ruleset's YAML loader refuses, on top of a safe loader: what can explode.

    Aliases are refused when the document is composed, before anything is expanded, so an
    alias bomb costs nothing; so are nesting past ``MAX_DEPTH`` and duplicate keys. Dates
    stay text, as JSON would give them. Mixed into both loaders below, so the C and the
    pure-Python loader refuse the same documents with the same words.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing an alias or a node nested past ``MAX_DEPTH``."""
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            mark = self.peek_event().start_mark  # type: ignore[attr-defined]
            raise yaml.composer.ComposerError(
                None, None, "an alias (*name) is not allowed in a ruleset: write the value out", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise yaml.composer.ComposerError(
                    None, None, f"the document is nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """Construct a mapping, refusing a key given twice (the last one would silently win)."""
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # type: ignore[attr-defined]  # merge keys (<<) first
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[attr-defined]
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base constructor says so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in one mapping", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _PyLoader(_Hardened, yaml.SafeLoader):
    """The hardened safe loader in pure Python (where PyYAML was built without libyaml)."""


_LOADERS: list[type[Any]] = [_PyLoader]

_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)  # None: no libyaml

if _CParser is not None:
    class _CLoader(_Hardened, yaml.composer.Composer, _CParser,  # type: ignore[misc]
                   yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The hardened safe loader on libyaml: C scans and parses, the composer above
        (with its refusals) builds the nodes from the C parser's events."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _LOADERS.insert(0, _CLoader)

_Loader: type[Any] = _LOADERS[0]
"""The loader rulesets are read with: libyaml's parser when PyYAML has it, else pure Python."""

for _loader in _LOADERS:
    _loader.yaml_implicit_resolvers = {
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
            return parse_json(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except JsonProblem as problem:
        where = f"{display}: {problem.location}" if problem.location else display
        raise RulesetError([(where, problem.message)]) from None
    except (yaml.YAMLError, RecursionError) as error:
        raise RulesetError([(display, f"is not valid YAML: {_in_our_words(error)}")]) from None


def _in_our_words(error: BaseException) -> BaseException:
    """libyaml stops at 1,000 levels before the composer sees 64: say it as the composer does."""
    if isinstance(error, yaml.MarkedYAMLError) and "maximum nesting depth" in str(error.problem):
        return yaml.composer.ComposerError(
            None, None, f"the document is nested deeper than {MAX_DEPTH} levels", error.problem_mark)
    return error


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
