"""Engine: the one interface between twitchrules and a forward-chaining backend.

``program`` compiles a ruleset into engine-neutral conjunct rules; ``session`` records what
each firing concludes, the same for every backend; ``durable_backend`` and
``clips_backend`` translate the program to durable-rules and CLIPS; ``registry`` says which
engines run here and chooses one; ``cache`` keeps each ruleset compiled once per engine.
Nothing outside this package knows which backend runs.

May import: ``twitchrules.case``, ``twitchrules.ruleset``, ``twitchrules.errors``. Knows
nothing of results, outputs or HTTP.
"""

from .cache import cached_ruleset, get_backend
from .program import CompiledRule, Program, compile_program, decisions_program
from .registry import (
    ENGINES,
    Backend,
    EngineUnavailable,
    available_engines,
    choose_engine,
    create_backend,
    default_engine,
)
from .session import EngineRun, Session

__all__ = [
    "ENGINES",
    "Backend",
    "CompiledRule",
    "EngineRun",
    "EngineUnavailable",
    "Program",
    "Session",
    "available_engines",
    "cached_ruleset",
    "choose_engine",
    "compile_program",
    "create_backend",
    "decisions_program",
    "default_engine",
    "get_backend",
]
