"""Durable backend: the compiled program run on durable-rules (the reference engine).

All of durable-rules stays in this module. Its known hazards are designed around:
its background timer threads are never started (``Host._run`` is a no-op); every call into
its C core is serialised by one lock; each case uses a session id from a small fixed set and
its state is deleted afterwards, so sessions never accumulate; exceptions raised inside
actions (which durable-rules would swallow) are kept and re-raised as ``EngineError``; and
the facts it holds are never read back (the firing record is kept on our side).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from durable import engine as durable_engine  # does not import on CPython 3.13+

from ..case.facts import FactValue
from ..errors import EngineError
from ..ruleset.conditions import All, Any_, Atom, Condition, Unknown
from .program import DEFINITE, CompiledRule, Program
from .session import EngineRun, Session

NAME = "durable-rules"
_LOCK = threading.RLock()  # the C core is not safe to enter from two threads at once
_NAMES = itertools.count()
_SID = "case"

_COMPARISONS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def version() -> str:
    """The installed durable-rules version."""
    return metadata.version("durable_rules")


def expression(condition: Condition) -> dict[str, Any]:
    """Translate a case condition into durable-rules' JSON expression form."""
    if isinstance(condition, Atom):
        if condition.op == "is":
            return {condition.fact: condition.value}
        if condition.op == "in":
            return {"$or": [{condition.fact: value} for value in condition.value]}
        return {_COMPARISONS[condition.op]: {condition.fact: condition.value}}
    if isinstance(condition, Unknown):
        return {"$nex": {condition.fact: 1}}
    parts = [expression(part) for part in condition.parts]
    if isinstance(condition, All):
        return {"$and": [{"t": "case"}, *parts]} if not parts else {"$and": parts}
    assert isinstance(condition, Any_)
    return {"$or": parts}


def _case_alternatives(compiled: CompiledRule) -> list[Condition | None]:
    """The case condition, split at a top-level ``any`` into one alternative per part.

    durable-rules expands each condition into disjunctive normal form and refuses a ruleset
    (error code 113) when one expression expands too far: a possible-mode ``any`` of pairs
    (each atom "true or unknown") does. Split, each part stays small; the parts run the same
    action, and a compiled rule records its firing once (``Session.fire``).
    """
    if isinstance(compiled.case, Any_):
        return list(compiled.case.parts)
    return [compiled.case]


def _patterns(compiled: CompiledRule, case: Condition | None) -> list[dict[str, Any]]:
    definite = compiled.mode == DEFINITE
    patterns: list[dict[str, Any]] = []
    if case is not None:
        patterns.append({"$and": [{"t": "case"}, expression(case)]})
    for name in compiled.derived:
        patterns.append({"$and": [{"t": "d" if definite else "p"}, {"n": name}]})
    for atom in compiled.counters:
        patterns.append(
            {"$and": [{"t": "c" if definite else "pc"}, {"n": atom.fact},
                      {_COMPARISONS[atom.op]: {"v": atom.value}}]}
        )
    if not patterns:  # an always-true condition still needs a fact to match
        patterns.append({"t": "case"})
    return patterns


def ruleset_definition(program: Program) -> dict[str, Any]:
    """The durable-rules JSON ruleset for a compiled program (provenance stripped)."""
    definition: dict[str, Any] = {}
    for compiled in program.rules:
        alternatives = _case_alternatives(compiled)
        for number, case in enumerate(alternatives):
            patterns = _patterns(compiled, case)
            name = compiled.key if len(alternatives) == 1 else f"{compiled.key}_or{number}"
            definition[name] = {
                "all": [{f"m{i}": pattern} for i, pattern in enumerate(patterns)],
                "pri": compiled.priority,
                "run": compiled.key,
            }
    return definition


def _json_value(value: Any) -> str:
    """JSON for one fact value in a form durable-rules' parser reads.

    Its C parser refuses an exponent without a fraction (``1e-05``, Python's own ``repr``),
    so such a float is written ``1.0e-05``: the same number, read the same by both engines.
    """
    if isinstance(value, float) and not isinstance(value, bool):
        text = repr(value)
        mantissa, exponent, power = text.partition("e")
        if exponent and "." not in mantissa:
            return f"{mantissa}.0e{power}"
        return text
    return json.dumps(value, ensure_ascii=False)


def fact_json(fact: Mapping[str, Any]) -> str:
    """The JSON text of a flat fact, every number in a form durable-rules reads."""
    return "{" + ",".join(f"{json.dumps(key)}:{_json_value(value)}" for key, value in fact.items()) + "}"


def _fact(new: tuple[Any, ...]) -> dict[str, Any]:
    if len(new) == 2:
        return {"sid": _SID, "t": new[0], "n": new[1]}
    return {"sid": _SID, "t": new[0], "n": new[1], "v": new[2]}


class DurableBackend:
    """Runs a compiled program on durable-rules, one isolated session per case."""

    name = NAME

    def __init__(self, program: Program) -> None:
        self.program = program
        self.version = version()
        self._session: Session | None = None
        self._ruleset_name = (
            f"{program.ruleset.name}-{program.ruleset.version}-"
            f"{program.ruleset.sha256[:12]}-{next(_NAMES)}"
        )
        backend = self

        class _Host(durable_engine.Host):  # type: ignore[misc]
            def _run(self) -> None:
                """Never start durable-rules' timer threads (crash path, upstream #306)."""

            def get_action(self, action_name: str) -> Any:
                return backend._action(action_name)

        with _LOCK:
            self._host = _Host()
            self._host.set_rulesets({self._ruleset_name: ruleset_definition(program)})

    def _action(self, key: str) -> Any:
        def act(closure: Any) -> None:
            session = self._session
            if session is None or session.error is not None:
                return
            try:
                for new in session.fire(key):
                    try:
                        closure.assert_fact(_fact(new))
                    except durable_engine.MessageNotHandledException:
                        pass  # a fact no rule matches: not an error
            except BaseException as error:  # kept: durable-rules would swallow it
                session.error = error

        return act

    def _assert_case(self, case_fact: dict[str, Any]) -> None:
        """``Host.assert_fact`` with our own JSON text (see ``fact_json``)."""
        rules = self._host.get_ruleset(self._ruleset_name)
        errors: list[BaseException] = []

        def done(error: BaseException | None, _state: Any) -> None:
            if error:
                errors.append(error)

        result = durable_engine.durable_rules_engine.assert_fact(rules._handle, fact_json(case_fact))
        rules.do_actions(rules._handle_result(result, case_fact), done)
        if errors:
            raise errors[0]

    def run(self, facts: Mapping[str, FactValue]) -> EngineRun:
        """Assert the case fact, let the rules chain, and return the firing record."""
        session = Session(self.program)
        case_fact: dict[str, Any] = {"sid": _SID, "t": "case", **facts}
        with _LOCK:
            self._session = session
            failed = True
            try:
                try:
                    self._assert_case(case_fact)
                except durable_engine.MessageNotHandledException:
                    pass  # no rule matched: not an error
                except BaseException as error:
                    raise EngineError(f"durable-rules failed: {error}") from error
                state = self._host.get_state(self._ruleset_name, _SID)
                if session.error is None and state.get("exception"):
                    session.error = RuntimeError(str(state["exception"]))
                failed = False
            finally:
                self._session = None
                try:
                    self._host.delete_state(self._ruleset_name, _SID)
                except BaseException as error:
                    # After a failed assert there may be no state to delete: never let
                    # the cleanup hide the first error.
                    if not failed:
                        raise EngineError(f"durable-rules failed: {error}") from error
        if session.error is not None:
            raise EngineError(f"a rule action failed: {session.error}") from session.error
        return session.run


def create(program: Program) -> DurableBackend:
    """A durable-rules backend for a compiled program."""
    return DurableBackend(program)
