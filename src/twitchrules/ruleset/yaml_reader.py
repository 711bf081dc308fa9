"""YAML reader: the hardened safe loader rulesets are read with (libyaml's parser when present).

Imported only when a YAML file is read: a ruleset from the disk cache never loads PyYAML.
``MAX_DEPTH``, aliases and duplicate keys are refused the same way by the C and the
pure-Python loader (``tests/test_yaml_loaders.py``).
"""

from __future__ import annotations

from typing import Any

import yaml

from ..case.reading import MAX_JSON_DEPTH

MAX_DEPTH = MAX_JSON_DEPTH
"""Deepest nesting of mappings and lists a ruleset document may have (the same as JSON's)."""


class YamlProblem(Exception):
    """A YAML text that cannot be read as a ruleset document; the message says where and why."""


def read_yaml(text: str) -> Any:
    """The document a YAML text holds, read by the hardened loader; raises ``YamlProblem``."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError) as error:
        raise YamlProblem(str(_in_our_words(error))) from None


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


def _in_our_words(error: BaseException) -> BaseException:
    """libyaml stops at 1,000 levels before the composer sees 64: say it as the composer does."""
    if isinstance(error, yaml.MarkedYAMLError) and "maximum nesting depth" in str(error.problem):
        return yaml.composer.ComposerError(
            None, None, f"the document is nested deeper than {MAX_DEPTH} levels", error.problem_mark)
    return error
