"""The ruleset YAML loaders: libyaml's where PyYAML has it, and it refuses what the Python one does.

``ruleset.yaml_reader`` reads YAML with libyaml's scanner and parser (``yaml.CParser``) under the
hardened composer; the pure-Python loader is the fallback. Both must give the same
documents and refuse the same hostile input (aliases, deep nesting, duplicate keys).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset import yaml_reader as load

LOADERS = load._LOADERS


def _load(text: str, loader: type[Any]) -> Any:
    return yaml.load(text, Loader=loader)  # noqa: S506 - the hardened SafeLoader subclasses


def test_c_loader_is_used_when_libyaml_is_there() -> None:
    """With libyaml present the loader rulesets are read with is the C one."""
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml here")
    assert len(LOADERS) == 2
    assert load._Loader is LOADERS[0]
    assert issubclass(load._Loader, load._CParser)


def test_both_loaders_read_the_bundled_ruleset_alike() -> None:
    """Every YAML file of the bundled ruleset gives the same document on both loaders."""
    files = sorted(bundled_ruleset_path().rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        documents = [_load(text, loader) for loader in LOADERS]
        assert all(document == documents[0] for document in documents), path


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_alias_is_refused(loader: type[Any]) -> None:
    """An alias is refused before it is expanded."""
    with pytest.raises(yaml.YAMLError, match="alias"):
        _load("a: &x [1, 2]\nb: *x\n", loader)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_nesting_past_the_limit_is_refused(loader: type[Any]) -> None:
    """Nesting one level past MAX_DEPTH is refused by name; at the limit it loads."""
    depth = load.MAX_DEPTH
    assert _load("[" * (depth - 1) + "]" * (depth - 1), loader) is not None
    with pytest.raises(yaml.YAMLError, match=f"nested deeper than {depth}"):
        _load("a: " + "[" * depth + "]" * depth, loader)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_duplicate_key_is_refused_and_dates_stay_text(loader: type[Any]) -> None:
    """A key given twice is refused; a date is kept as the text JSON would give."""
    with pytest.raises(yaml.YAMLError, match="given twice"):
        _load("a: 1\nb: 2\na: 3\n", loader)
    assert _load("since: 2026-11-20\n", loader) == {"since": "2026-11-20"}
