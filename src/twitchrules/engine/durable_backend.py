"""Durable backend: the compiled program run on durable-rules (the reference engine).

All of durable-rules stays in this module. Its known hazards are designed around:
its background timer threads are never started (``Host._run`` is a no-op); every call into
its C core is serialised by one lock; each case uses a session id from a small fixed set and
its state is deleted afterwards, so sessions never accumulate; exceptions raised inside
actions (which durable-rules would swallow) are kept and re-raised as ``EngineError``; and
the facts it holds are never read back (the firing record is kept on our side).

Its C core corrupts its heap (``free(): invalid size``, or error 303 on an assert) once
about 150 compiled rules match one case at the same time, which a large ruleset reaches
for a case with many unknown inputs (every *possible* rule matches). So the program is
split over several durable-rules rulesets: the definite rules in one (their firing order
is the ruleset's), the possible rules in chunks of at most ``POSSIBLE_CHUNK`` durable-rules
rules. Facts that possible rules read (``p``, ``pc``) are queued and asserted into every
possible chunk until none is new; the possible record is a set, so the result is the same
as in one ruleset.
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

POSSIBLE_CHUNK = 60
"""The most durable-rules rules (possible mode) one durable-rules ruleset holds, well below
the ~150 simultaneous matches at which its C core corrupts memory."""


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


def ruleset_definition(program: Program,
                       rules: tuple[CompiledRule, ...] | None = None) -> dict[str, Any]:
    """The durable-rules JSON ruleset for compiled rules (default: all of the program's)."""
    definition: dict[str, Any] = {}
    for compiled in program.rules if rules is None else rules:
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
        definite = tuple(rule for rule in program.rules if rule.mode == DEFINITE)
        maybe = tuple(rule for rule in program.rules if rule.mode != DEFINITE)
        entries = list(ruleset_definition(program, maybe).items())
        chunks = [dict(entries[start:start + POSSIBLE_CHUNK])
                  for start in range(0, len(entries), POSSIBLE_CHUNK)]
        self._possible_names = [f"{self._ruleset_name}-p{number}" for number in range(len(chunks))]
        definitions = {self._ruleset_name: ruleset_definition(program, definite)}
        definitions.update(zip(self._possible_names, chunks, strict=True))
        self._queue: list[dict[str, Any]] = []  # facts for the possible chunks
        backend = self

        class _Host(durable_engine.Host):  # type: ignore[misc]
            def _run(self) -> None:
                """Never start durable-rules' timer threads (crash path, upstream #306)."""

            def get_action(self, action_name: str) -> Any:
                return backend._action(action_name)

        with _LOCK:
            self._host = _Host()
            self._host.set_rulesets(definitions)

    def _action(self, key: str) -> Any:
        def act(closure: Any) -> None:
            session = self._session
            if session is None or session.error is not None:
                return
            try:
                for new in session.fire(key):
                    if new[0] not in ("d", "c"):  # read by possible rules: queued for them
                        self._queue.append(_fact(new))
                        continue
                    try:
                        closure.assert_fact(_fact(new))
                    except durable_engine.MessageNotHandledException:
                        pass  # a fact no rule matches: not an error
            except BaseException as error:  # kept: durable-rules would swallow it
                session.error = error

        return act

    def _names(self) -> list[str]:
        """The durable-rules rulesets of this program: the definite one, then the chunks."""
        return [self._ruleset_name, *self._possible_names]

    def _state_of(self, name: str) -> dict[str, Any]:
        """The case's durable-rules state in one ruleset (empty when it has none)."""
        try:
            state: dict[str, Any] = self._host.get_state(name, _SID)
        except BaseException:
            return {}
        return state

    def _state_exists(self, name: str) -> bool:
        """Whether one ruleset holds a state for the case."""
        return bool(self._state_of(name))

    def _assert_into(self, name: str, fact: dict[str, Any]) -> None:
        """``Host.assert_fact`` into one ruleset with our own JSON text (see ``fact_json``)."""
        rules = self._host.get_ruleset(name)
        errors: list[BaseException] = []

        def done(error: BaseException | None, _state: Any) -> None:
            if error:
                errors.append(error)

        try:
            result = durable_engine.durable_rules_engine.assert_fact(rules._handle, fact_json(fact))
            rules.do_actions(rules._handle_result(result, fact), done)
        except durable_engine.MessageNotHandledException:
            return  # no rule of this ruleset matches the fact: not an error
        if errors:
            raise errors[0]

    def _assert_case(self, case_fact: dict[str, Any]) -> None:
        """The case into the definite rules, then the case and every queued fact into each
        possible chunk, until no firing queues a new fact."""
        self._queue = []
        self._assert_into(self._ruleset_name, case_fact)
        pending = [case_fact, *self._queue]
        self._queue = []
        while pending:
            for fact in pending:
                for name in self._possible_names:
                    self._assert_into(name, fact)
            pending, self._queue = self._queue, []

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
                for name in self._names():
                    state = self._state_of(name)
                    if session.error is None and state.get("exception"):
                        session.error = RuntimeError(str(state["exception"]))
                failed = False
            finally:
                self._session = None
                for name in self._names():
                    try:
                        self._host.delete_state(name, _SID)
                    except BaseException as error:
                        # After a failed assert there may be no state to delete, and a
                        # chunk no fact reached has none: never let the cleanup hide the
                        # first error.
                        if not failed and self._state_exists(name):
                            raise EngineError(f"durable-rules failed: {error}") from error
        if session.error is not None:
            raise EngineError(f"a rule action failed: {session.error}") from session.error
        return session.run


def create(program: Program) -> DurableBackend:
    """A durable-rules backend for a compiled program."""
    return DurableBackend(program)
