"""Evaluate: the pipeline case -> facts -> engine -> conclusions -> result."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ._case import Case
from ._case_input import case_from_mapping
from ._conclude import build_result
from ._facts import build_facts
from ._result import Result
from ._ruleset import Ruleset, load_ruleset
from .engine import get_backend

try:
    __version__ = metadata.version("twitchrules")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

_LOADED: dict[str, Ruleset] = {}
_LOADED_LOCK = threading.Lock()


def _ruleset(ruleset: Ruleset | str | Path | None) -> Ruleset:
    if isinstance(ruleset, Ruleset):
        return ruleset
    key = str(Path(ruleset).resolve()) if ruleset is not None else ""
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = load_ruleset(ruleset)
        return _LOADED[key]


def evaluate(
    case: Case | Mapping[str, Any],
    *,
    ruleset: Ruleset | str | Path | None = None,
    engine: str | None = None,
) -> Result:
    """Evaluate one case and return its traced result.

    Args:
        case: a ``Case`` or a mapping in the contract's case shape (validated strictly).
        ruleset: a loaded ``Ruleset``, a path to a ruleset file or folder, or ``None`` for
            the bundled ruleset. Paths are loaded once per process.
        engine: ``"durable"`` (or another available backend); ``None`` for the default.

    Raises:
        CaseError: the case breaks the contract; ``problems`` names every field.
        RulesetError: the ruleset cannot be loaded.
        EngineError: the engine failed.
    """
    checked = case_from_mapping(case)
    loaded = _ruleset(ruleset)
    backend = get_backend(loaded, engine)
    facts = build_facts(checked, loaded.definitions)
    run = backend.run(facts)
    return build_result(
        ruleset=loaded, run=run, facts=facts,
        engine={"name": backend.name, "version": backend.version},
        package_version=__version__,
    )
