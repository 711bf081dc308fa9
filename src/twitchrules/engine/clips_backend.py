"""CLIPS backend: the compiled program run on CLIPS, through the ``clipspy`` bindings.

All of CLIPS stays in this module. The program compiles to CLIPS constructs:

* one ``case`` deftemplate with a slot per case fact that some condition reads; a fact the
  case does not give keeps the slot default, the symbol ``nil`` (booleans are the symbols
  ``TRUE``/``FALSE``, words are CLIPS strings, so no known value can be taken for ``nil``);
* ``d``/``p`` deftemplates for definite/possible derived facts and ``c``/``pc`` for
  counters, the same facts the durable-rules backend asserts;
* one defrule per compiled rule. Its salience gives the program's order (CLIPS fires the
  highest salience first, the program the lowest priority first; see ``saliences``).

A firing is handled as ``Session.fire`` defines it, in one of two modes:

* ``native`` (the default): the right-hand side itself asserts what the session would
  return (a rule's derived facts, definite and possible, and the checklist counters, counted
  from item facts) and appends the rule's number to a trace string. After the run that
  string is the firing record: ``session.record_from_firings`` turns it into the
  ``EngineRun`` from what the compiler prepared once per rule (its mode, what it asserts,
  the checklist items it makes met). No Python runs during the match, nothing is fired
  again afterwards, which is what makes this backend fast.
* ``live``: the right-hand side calls back into Python, the session records the firing and
  its returned facts are asserted (the durable-rules backend's way). Slower; it is the
  reference the native mode is tested against (``tests/test_clips.py``).

Both are sound for the same reason: a session's record depends only on the sequence of keys
fired, and CLIPS fires the same sequence as long as it holds the same facts. Asserting a
fact CLIPS already holds changes nothing (fact duplication is off), so asserting a rule's
derived facts again where the session would skip them is the same. Activations the session
would ignore (another conjunct of a rule already fired, or the possible form of a rule
already possible) are kept off the agenda by marker facts; dropping them leaves the order of
the others unchanged.

Isolation: every run takes an environment from a pool (building a new one when all are in
use, so two threads never share one) and resets it once, before the case: no fact survives
from the previous case, and a case's facts are released at the next reset of that
environment. clipspy 1.0.6's ``Fact`` wrappers never release their fact (``ReleaseFact`` is
called with the wrong arity and the error swallowed), so nothing here lets clipspy hand a
fact to Python.

The compiled program is built into an environment from its constructs once per machine:
its binary image is kept in the disk cache (``twitchrules.diskcache``) and loaded by later
processes and environments.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import clips

from .. import diskcache
from ..case.facts import FactValue
from ..case.vocabulary import CHECKLIST_COUNTER
from ..errors import EngineError
from ..ruleset.conditions import All, Any_, Atom, Condition, Unknown
from ..version import __version__
from .program import DEFINITE, CompiledRule, Program
from .session import EngineRun, Session, record_from_firings

NAME = "clips"
_FIRE = "twitchrules-fire"
_ASSERT = "twitchrules-assert"
_CASE = "twitchrules-case"
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def version() -> str:
    """The installed clipspy version (it bundles its own CLIPS build)."""
    found = getattr(clips, "__version__", "")
    if not found:  # importlib.metadata costs a process tens of milliseconds: only when needed
        from importlib import metadata

        found = metadata.version("clipspy")
    return str(found)


def _string(text: str) -> str:
    """A CLIPS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: Any) -> str:
    """A CLIPS literal for a condition value (booleans are the symbols TRUE and FALSE)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest text that parses back to the same double
    if isinstance(value, str):
        return _string(value)
    raise EngineError(f"a condition value CLIPS cannot represent: {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Slots:
    """Case fact name -> slot variable, for the facts one rule's case condition reads."""

    def __init__(self, slot_names: Mapping[str, str]) -> None:
        self.slot_names = slot_names
        self.used: dict[str, str] = {}

    def var(self, fact: str) -> str:
        if fact not in self.slot_names:
            raise EngineError(f"a condition names '{fact}', which is not a case fact")
        return self.used.setdefault(fact, f"?v{len(self.used)}")


def _test(condition: Condition, slots: _Slots) -> str:
    """A CLIPS boolean expression equivalent to ``Atom.holds`` on the bound slots."""
    if isinstance(condition, Atom):
        var = slots.var(condition.fact)
        if condition.op == "in":
            return "(or " + " ".join(_equal(var, value) for value in condition.value) + ")"
        if condition.op == "is":
            return _equal(var, condition.value)
        return (f"(and (numberp {var}) "
                f"({_COMPARISONS[condition.op]} {var} {_literal(condition.value)}))")
    if isinstance(condition, Unknown):
        return f"(eq {slots.var(condition.fact)} nil)"
    parts = [_test(part, slots) for part in condition.parts]
    if isinstance(condition, All):
        return "(and " + " ".join(parts) + ")" if parts else "(eq TRUE TRUE)"
    assert isinstance(condition, Any_)
    return "(or " + " ".join(parts) + ")" if parts else "(eq TRUE FALSE)"


def _equal(var: str, value: Any) -> str:
    if _is_number(value):  # numeric equality, int or float alike, as Atom.holds
        return f"(and (numberp {var}) (= {var} {_literal(value)}))"
    return f"(eq {var} {_literal(value)})"


def _case_pattern(condition: Condition | None, slot_names: Mapping[str, str]) -> str:
    if condition is None:
        return "(case)"
    slots = _Slots(slot_names)
    test = _test(condition, slots)
    bound = " ".join(f"({slot_names[fact]} {var})" for fact, var in slots.used.items())
    return f"(case {bound}) (test {test})" if bound else f"(case) (test {test})"


def _defrule(compiled: CompiledRule, program: Program, slot_names: Mapping[str, str],
             salience: int, number: int, live: bool) -> str:
    definite = compiled.mode == DEFINITE
    index = compiled.rule_index
    patterns: list[str] = []
    if compiled.case is not None:
        patterns.append(_case_pattern(compiled.case, slot_names))
    for name in compiled.derived:
        patterns.append(f"({'d' if definite else 'p'} (n {_string(name)}))")
    for position, atom in enumerate(compiled.counters):  # each test matches its own fact
        if atom.op not in _COMPARISONS or not _is_number(atom.value):
            raise EngineError(f"a counter test CLIPS cannot compile: {atom}")
        var = f"?c{position}"
        patterns.append(
            f"({'c' if definite else 'pc'} (n {_string(atom.fact)}) "
            f"(v {var}&:({_COMPARISONS[atom.op]} {var} {_literal(atom.value)})))"
        )
    if not patterns:  # an always-true condition still needs a fact to match
        patterns.append("(case)")
    # The session records a rule once per mode, and a definite firing makes it possible too.
    actions = [f"(assert (fired-p {index}))"]
    if definite:
        patterns.append(f"(not (fired-d {index}))")
        actions.insert(0, f"(assert (fired-d {index}))")
    else:
        patterns.append(f"(not (fired-p {index}))")
    if live:
        actions.append(f"({_ASSERT} ({_FIRE} {_string(compiled.key)}))")
    else:
        actions.append(f'(bind ?*trace* (str-cat ?*trace* " {number}"))')
        names = program.asserts[index]
        items = program.checklist_met[index]
        kinds = ("d", "p") if definite else ("p",)
        for kind in kinds:
            facts = " ".join(f"({kind} (n {_string(name)}))" for name in names)
            if facts:
                actions.append(f"(assert {facts})")
            if items:
                item = "item-d" if kind == "d" else "item-p"
                counter = "c" if kind == "d" else "pc"
                actions.append("(assert " + " ".join(
                    f"({item} {_string(name)})" for name in items) + ")")
                actions.append(
                    f"(assert ({counter} (n {_string(CHECKLIST_COUNTER)}) "
                    f"(v (length$ (find-all-facts ((?f {item})) TRUE)))))"
                )
    return (
        f"(defrule r-{compiled.key}\n"
        f"  (declare (salience {salience}))\n"
        + "".join(f"  {pattern}\n" for pattern in patterns)
        + "  =>\n"
        + "".join(f"  {action}\n" for action in actions)
        + ")"
    )


def saliences(program: Program) -> dict[str, int]:
    """Compiled rule key -> CLIPS salience, giving the engine-neutral firing order.

    The program fires the lowest priority first; CLIPS the highest salience. The conjuncts
    of one rule share its priority: among them the first conjunct goes first. Saliences are
    the negated ranks of (priority, conjunct position), dense from 0 down.
    """
    def position(compiled: CompiledRule) -> int:
        return int(compiled.key.rsplit("_", 1)[1])

    ranked = sorted(program.rules, key=lambda compiled: (compiled.priority, position(compiled)))
    if len(ranked) > 10001:
        raise EngineError("too many compiled rules for CLIPS salience (-10000..10000)")
    return {compiled.key: -rank for rank, compiled in enumerate(ranked)}


def _case_facts(program: Program) -> list[str]:
    """The case facts that some compiled condition reads, in catalogue order."""
    read: set[str] = set()

    def walk(condition: Condition) -> None:
        if isinstance(condition, (Atom, Unknown)):
            read.add(condition.fact)
        else:
            for part in condition.parts:
                walk(part)

    for compiled in program.rules:
        if compiled.case is not None:
            walk(compiled.case)
    unknown = read - set(program.ruleset.catalogue)
    if unknown:
        raise EngineError(f"conditions name facts outside the catalogue: {sorted(unknown)}")
    return [name for name in program.ruleset.catalogue if name in read]


def slot_names(program: Program) -> dict[str, str]:
    """Case fact name -> CLIPS slot name, for the facts the rules read.

    The slot is named after the fact where CLIPS allows it. Facts that no condition reads
    get no slot: no rule could match on them.
    """
    names: dict[str, str] = {}
    for position, fact in enumerate(_case_facts(program)):
        names[fact] = fact if _SYMBOL.match(fact) else f"fact-{position}"
    return names


def constructs(program: Program, *, live: bool = False) -> list[str]:
    """The CLIPS constructs (deftemplates, deffunctions, defrules) for a compiled program.

    With ``live``, rules call the Python function ``twitchrules-fire`` (defined separately,
    per environment); otherwise they assert their conclusions themselves and keep a trace.
    """
    slots = slot_names(program)
    params = " ".join(f"?a{i}" for i in range(len(slots)))
    fills = " ".join(f"({slot} ?a{i})" for i, slot in enumerate(slots.values()))
    lines = [
        "(deftemplate case " + " ".join(f"(slot {slot})" for slot in slots.values()) + ")",
        "(deftemplate d (slot n))",
        "(deftemplate p (slot n))",
        "(deftemplate c (slot n) (slot v))",
        "(deftemplate pc (slot n) (slot v))",
        '(defglobal ?*trace* = "")',
        # The case fact is asserted inside CLIPS, so no fact address reaches Python.
        f"(deffunction {_CASE} ({params}) (assert (case {fills})) nil)",
    ]
    if live:  # the facts the session returns, flattened as (kind name value) triples
        lines.append(f"""(deffunction {_ASSERT} ($?new)
  (loop-for-count (?i 1 (div (length$ ?new) 3))
    (bind ?k (nth$ (- (* 3 ?i) 2) ?new))
    (bind ?n (nth$ (- (* 3 ?i) 1) ?new))
    (bind ?v (nth$ (* 3 ?i) ?new))
    (switch ?k
      (case d then (assert (d (n ?n))))
      (case p then (assert (p (n ?n))))
      (case c then (assert (c (n ?n) (v ?v))))
      (case pc then (assert (pc (n ?n) (v ?v))))))
  nil)""")
    salience = saliences(program)
    lines.extend(
        _defrule(compiled, program, slots, salience[compiled.key], number, live)
        for number, compiled in enumerate(program.rules)
    )
    return lines


class _Errors(clips.Router):  # type: ignore[misc]
    """Collects what CLIPS writes to ``stderr`` during a run (an error there fails it), and
    keeps its warnings (``stdwrn``: saving an image warns about constraints) off stdout."""

    def __init__(self) -> None:
        super().__init__("twitchrules-errors", 30)
        self.messages: list[str] = []
        self.warnings: list[str] = []

    def query(self, name: str) -> bool:
        return name in ("stderr", "stdwrn")

    def write(self, name: str, message: str) -> None:
        (self.messages if name == "stderr" else self.warnings).append(message)


def _build_all(env: clips.Environment, built: list[str]) -> None:
    """Build the constructs with the environment's Python routers switched off.

    CLIPS asks every active router about each character it parses, and through Python that
    is ~90% of a build (first run, cache off). Should CLIPS refuse a construct, it and the
    rest are built again with the routers on, so the error carries CLIPS's message.
    """
    routers = list(env.routers())
    done = 0
    for router in routers:
        router.deactivate()
    try:
        for construct in built:
            env.build(construct)
            done += 1
    except clips.CLIPSError:
        pass
    finally:
        for router in routers:
            router.activate()
    for construct in built[done:]:
        env.build(construct)


class _Environment:
    """One CLIPS environment with the program built into it."""

    def __init__(self, program: Program, built: list[str], slots: Mapping[str, str],
                 live: bool, image: Path | None = None) -> None:
        self.program = program
        self.live = live
        self.env = clips.Environment()
        self.errors = _Errors()
        self.env.add_router(self.errors)
        self.session: Session | None = None
        if live:
            self.env.define_function(self._fire, _FIRE)
        if image is not None:  # the same constructs, saved by an earlier process
            self.env.load(str(image), binary=True)
        else:
            _build_all(self.env, built)
        self.facts = tuple(slots)
        # The trace holds compiled rule numbers as text: each one's rule index and mode.
        self.steps = {str(number): step for number, step in enumerate(program.steps)}
        self.assert_case = self.env.find_function(_CASE)
        self.trace = self.env.find_global("trace")

    def _fire(self, key: str) -> list[Any]:
        session = self.session
        if session is None or session.error is not None:
            return []
        try:
            flat: list[Any] = []
            for new in session.fire(key):
                flat.append(clips.Symbol(new[0]))
                flat.append(new[1])
                flat.append(new[2] if len(new) == 3 else 0)
            return flat
        except BaseException as error:  # kept: re-raised by run() as an EngineError
            session.error = error
            return []

    def run(self, session: Session, facts: Mapping[str, FactValue]) -> None:
        """One reset, the case asserted, one run; in native mode the trace is the record."""
        env = self.env
        env.reset()  # no fact or activation survives from the previous case
        self.errors.messages.clear()
        self.session = session
        try:
            self.assert_case(*case_arguments(facts, self.facts))
            env.run()
            if not self.live:
                session.run = record_from_firings(self.program, self.trace.value.split(),
                                                  self.steps)
        except BaseException:
            env.reset()  # a failed case's facts go now (a good case's at the next reset)
            raise
        finally:
            self.session = None
        if self.errors.messages and session.error is None:
            session.error = RuntimeError("".join(self.errors.messages).strip())
        if session.error is not None:
            env.reset()


def case_arguments(facts: Mapping[str, FactValue], names: tuple[str, ...]) -> list[FactValue | None]:
    """The case-assert call's arguments: each slot's fact value, ``None`` (nil) when unknown."""
    return [facts.get(name) for name in names]


class ClipsBackend:
    """Runs a compiled program on CLIPS, one reset environment per case, pooled by thread."""

    name = NAME

    def __init__(self, program: Program, *, live: bool = False) -> None:
        self.program = program
        self.version = version()
        self.live = live
        self._constructs = constructs(program, live=live)
        self._slots = slot_names(program)
        self._pool: list[_Environment] = []
        self._lock = threading.Lock()
        # Native mode only: live rules call a Python function no image can hold.
        self._image = None if live else _image_name(program, self.version, self._constructs)
        try:
            self._pool.append(self._new_environment())
        except clips.CLIPSError as error:
            raise EngineError(f"CLIPS refused the compiled program: {error}") from error

    def _new_environment(self) -> _Environment:
        """An environment with the program in it: from the cached binary image when there is
        a sound one, else built from the constructs (and the image saved for next time)."""
        if self._image is not None:
            image = _cached_image(self._image)
            if image is not None:
                try:
                    return _Environment(self.program, self._constructs, self._slots, False, image)
                except clips.CLIPSError:
                    diskcache.forget_entry(image.name)
        environment = _Environment(self.program, self._constructs, self._slots, self.live)
        if self._image is not None:
            _save_image(environment, self._image)
        return environment

    def run(self, facts: Mapping[str, FactValue]) -> EngineRun:
        """Assert the case fact, let the rules chain, and return the firing record."""
        with self._lock:
            environment = self._pool.pop() if self._pool else None
        if environment is None:
            environment = self._new_environment()
        session = Session(self.program)
        try:
            environment.run(session, facts)
        except Exception as error:
            if session.error is None:
                session.error = error
        finally:
            with self._lock:
                self._pool.append(environment)
        if session.error is not None:
            raise EngineError(f"CLIPS run failed: {session.error}") from session.error
        return session.run


def _image_name(program: Program, engine_version: str, built: list[str]) -> str:
    """The cache entry prefix of a program's CLIPS binary image: ruleset sha256, package and
    clipspy versions, and every construct (so a change of this module is a new image)."""
    return diskcache.entry_name("clips", program.ruleset.sha256, __version__, engine_version,
                                *built)


def _cached_image(prefix: str) -> Path | None:
    """A cached image whose bytes match the digest in its name (others are removed)."""
    found = diskcache.find_sealed(prefix, ".bin")
    return found[0] if found is not None else None


def _save_image(environment: _Environment, prefix: str) -> None:
    """Save a freshly built environment's constructs as a binary image, named by its digest
    and renamed into place whole (two processes saving at once write the same file)."""
    folder = diskcache.cache_dir()
    if folder is None:
        return
    import tempfile  # only when saving: a warm process never needs it

    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{prefix}.", dir=folder)
        os.close(handle)
        try:
            environment.env.save(temporary, binary=True)
            name = f"{prefix}-{diskcache.sealed_digest(Path(temporary).read_bytes())}.bin"
            os.replace(temporary, folder / name)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except (OSError, clips.CLIPSError):
        pass  # no image this time: the next process builds the constructs again
    environment.errors.warnings.clear()


def create(program: Program) -> ClipsBackend:
    """A CLIPS backend for a compiled program (native mode)."""
    return ClipsBackend(program)
