"""Cache: the one process-wide cache, of rulesets and what is made of them, under one lock.

A ruleset named by a path is loaded once per process; a ruleset is compiled into each
engine once per content hash (a durable-rules ruleset can never be unregistered, so
compiling the same content again would only grow its host); what a later stage prepares
once per ruleset (the conclusions' plan) is kept by content hash too (``prepared_for``).
Callers that hold a ``Ruleset`` pass it as an object and never touch the path index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from ..ruleset.model import Ruleset
from ..ruleset.sources import RulesetSpec, resolve_ruleset
from .program import compile_program, decisions_program
from .registry import Backend, choose_engine, create_backend

_LOCK = threading.Lock()
_LOADED: dict[str, Ruleset] = {}  # resolved path or spec ("" for the bundled ruleset) -> ruleset
_BACKENDS: dict[tuple[str, str, bool], Backend] = {}  # (sha256, engine, decisions only)
_PREPARED: dict[tuple[str, str], Any] = {}  # (ruleset sha256, what) -> what a stage made of it

T = TypeVar("T")


def cached_ruleset(ruleset: RulesetSpec) -> Ruleset:
    """The ruleset a spec names (a path, ``name@version``, ``sha256:``...; ``None``: bundled),
    loaded once per process; a ``Ruleset`` is returned as it is."""
    if isinstance(ruleset, Ruleset):
        return ruleset
    key = "" if ruleset is None else (
        str(ruleset) if isinstance(ruleset, str) and not Path(ruleset).exists()
        else str(Path(ruleset).resolve()))
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = resolve_ruleset(ruleset)
        return _LOADED[key]


def get_backend(ruleset: Ruleset, name: str | None = None, *,
                decisions_only: bool = False) -> Backend:
    """The backend ``name`` (default: ``default_engine()``) with ``ruleset`` compiled into it.

    With ``decisions_only``, the program's definite rules alone (``decisions_program``): the
    same definite firings, derived facts and met items, in a fraction of the time, for a
    caller that reads nothing else of the run (the what-if search).
    """
    engine = choose_engine(name)
    key = (ruleset.sha256, engine, decisions_only)
    with _LOCK:
        if key not in _BACKENDS:
            program = compile_program(ruleset)
            _BACKENDS[key] = create_backend(
                decisions_program(program) if decisions_only else program, engine)
        return _BACKENDS[key]


def prepared_for(ruleset: Ruleset, what: str, make: Callable[[Ruleset], T]) -> T:
    """``make(ruleset)``, made once per content hash and kind ``what`` (e.g. ``"plan"``).

    ``make`` must give content only (the same for any ruleset of that sha256) and must not
    use this cache itself.
    """
    key = (ruleset.sha256, what)
    found = _PREPARED.get(key)  # the hot path: one dict lookup, no lock
    if found is None:
        with _LOCK:
            found = _PREPARED.get(key)
            if found is None:
                found = _PREPARED[key] = make(ruleset)
    return cast(T, found)
