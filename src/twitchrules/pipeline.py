"""Pipeline: one case through the stages, case -> facts -> engine -> conclusions -> result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .case import Case, build_facts, case_from_mapping
from .conclusions import EngineInfo, Firing, Result, build_result
from .engine import cached_ruleset, get_backend
from .ruleset.sources import RulesetSpec
from .version import __version__


def evaluate(
    case: Case | Mapping[str, Any],
    *,
    ruleset: RulesetSpec = None,
    engine: str | None = None,
) -> Result:
    """Evaluate one case and return its traced result.

    Args:
        case: a ``Case`` or a mapping in the contract's case shape (validated strictly).
        ruleset: a loaded ``Ruleset``, a path to a ruleset file or folder, a released
            version (``"twitching@1.0.0"``), a content hash (``"sha256:<hex>"``), or
            ``None`` for the bundled ruleset. Each is loaded once per process.
        engine: ``"durable"`` (or another available backend); ``None`` for the default.

    Raises:
        CaseError: the case breaks the contract; ``problems`` names every field.
        RulesetError: the ruleset cannot be loaded.
        EngineError: the engine failed.
    """
    checked = case_from_mapping(case)
    loaded = cached_ruleset(ruleset)
    backend = get_backend(loaded, engine)
    facts = build_facts(checked, loaded.fact_definitions)
    firing = Firing(loaded, backend.run(facts), facts)
    return build_result(firing, engine=EngineInfo.built(name=backend.name, version=backend.version),
                        package_version=__version__)
