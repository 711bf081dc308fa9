"""What if: the smallest sets of one or two findings that, changed or made known, change the result.

Proposals come from the rules' conditions (``routes``); each is decided by re-running the
real engine on the changed case (the same cached backend ``pipeline.evaluate`` uses, and the
same triage and differential conclusions), never by a second logic. A run decides only
what a what-if compares (the triage level, the differential's conditions, the fired rules);
the full what-if is written only for the changes kept. The search is bounded: at most
``max_runs`` engine runs per case. Each goal (a higher level, a fall, a condition added or
dropped) offers its changes in turn, single changes before pairs, and a goal the engine has
shown reached gives way to those not yet reached, so a capped search reaches as many goals
as it can before it tries other ways to reach one; a pair is kept only when neither of its
changes alone gives the same result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..case import Case, build_facts
from ..case.vocabulary import level_rank
from ..conclusions import Firing, Result
from ..conclusions.differential import build_differential
from ..conclusions.triage import triage_level
from ..engine import get_backend
from ..ruleset.model import Rule, Ruleset
from .model import Change, WhatIf, WhatIfSearch
from .nearness import CaseState
from .routes import Route, RouteFinder, any_of

DEFAULT_MAX_RUNS = 24
"""Engine runs allowed per case for the what-if search (the cap the benchmark reports)."""


@dataclass(frozen=True)
class Outcome:
    """What an engine run concluded that a what-if compares: level, conditions, fired rules."""

    level: str
    conditions: tuple[str, ...]
    fired: tuple[str, ...]

    @classmethod
    def of(cls, result: Result) -> Outcome:
        """The outcome of one result."""
        return cls(result.triage.level, tuple(entry.condition for entry in result.differential),
                   tuple(dict.fromkeys(entry.rule for entry in result.trace)))

    def same_result(self, other: Outcome) -> bool:
        """Whether two outcomes have the same triage level and the same conditions."""
        return self.level == other.level and set(self.conditions) == set(other.conditions)


RouteKey = tuple[tuple[str, str], ...]
"""A route as a sorted, hashable key."""


def _key(route: Route) -> RouteKey:
    return tuple(sorted((fact, repr(value)) for fact, value in route.items()))


def goal_routes(state: CaseState, result: Result) -> tuple[dict[str, list[Route]], set[tuple[str, RouteKey]]]:
    """Each goal's candidate changes, read from the rules that could reach it, and the
    (goal, change) pairs unlikely to reach it, which a capped search tries last.

    A goal is what a change could do: ``raise:<level>`` (a rule setting that higher level
    starts), ``lower`` (every rule at the level stops), or ``condition:<id>`` (an evidence
    rule for the condition starts or stops, which can add or drop it). Read as data, an
    evidence rule is unlikely to change the differential when it would start supporting a
    condition already listed, or stop supporting one not listed (and the reverse for
    evidence against): the engine still decides such a change, after the likely ones.
    """
    ruleset = state.ruleset
    finder = RouteFinder(state)
    level = level_rank(result.triage.level)
    fired = state.fired
    goals: dict[str, list[Route]] = {}
    sets = {rule.id: str(rule.triage["level"]) for rule in ruleset.rules if rule.triage}
    raising = sorted((rule for rule in ruleset.rules if rule.id in sets and rule.id not in fired
                      and level_rank(sets[rule.id]) > level),
                     key=lambda rule: (-level_rank(sets[rule.id]), rule.index))
    for rule in raising:
        goals.setdefault(f"raise:{sets[rule.id]}", []).extend(finder.routes(rule.condition, True))
    top = [rule for rule in ruleset.rules if rule.id in result.triage.rules]
    if top:  # every rule at the level must stop for the level to fall
        goals["lower"] = finder.routes(any_of([rule.condition for rule in top]), False)
    raising_ids = {rule.id for rule in raising}  # ids: comparing rules themselves is deep
    listed = {entry.condition for entry in result.differential}
    likely: set[tuple[str, RouteKey]] = set()
    unlikely: set[tuple[str, RouteKey]] = set()
    for rule in ruleset.rules:
        if rule.evidence and rule.id not in raising_ids:
            goal = f"condition:{rule.evidence[0]['condition']}"
            starts = rule.id not in fired
            routes = finder.routes(rule.condition, starts)
            goals.setdefault(goal, []).extend(routes)
            moves = any((body["condition"] in listed) != (starts == (body["direction"] == "for"))
                        for body in rule.evidence)
            (likely if moves else unlikely).update((goal, _key(route)) for route in routes)
    return goals, unlikely - likely


def proposals(state: CaseState, result: Result) -> list[Route]:
    """Every candidate change, once, single changes before pairs, taken in turn from each goal."""
    return _in_turn(goal_routes(state, result)[0])


def _in_turn(goals: dict[str, list[Route]]) -> list[Route]:
    """The goals' routes, once each: the first of every goal, then the second ..., singles first."""
    ordered: list[Route] = []
    for size in (1, 2):
        lists = [[route for route in routes if len(route) == size] for routes in goals.values()]
        for turn in range(max((len(routes) for routes in lists), default=0)):
            ordered += [routes[turn] for routes in lists if turn < len(routes)]
    unique: dict[RouteKey, Route] = {}
    for route in ordered:
        unique.setdefault(_key(route), route)
    return list(unique.values())


def reached(goals: Iterable[str], before: Outcome, after: Outcome) -> set[str]:
    """The goals a changed case's outcome reaches (by what the engine concluded on it)."""
    falls = level_rank(after.level) < level_rank(before.level)

    def reaches(goal: str) -> bool:
        kind, _, name = goal.partition(":")
        if kind == "raise":
            return after.level == name
        if kind == "lower":
            return falls
        return (name in before.conditions) != (name in after.conditions)

    return {goal for goal in goals if reaches(goal)}


def search_order(goals: dict[str, list[Route]], done: set[str],
                 later: AbstractSet[tuple[str, RouteKey]] = frozenset()) -> Iterator[Route]:
    """Candidates in the order to run them, each once, reading ``done`` as the search goes.

    Goals not yet reached come first: in turn, each gives its next single change, then each
    its next pair, so a capped search reaches as many goals as its runs allow before it
    spends runs on other ways to reach a goal already reached, or on the changes ``later``
    names as unlikely for their goal (those follow, all in turn).
    """
    tried: set[RouteKey] = set()
    for size in (1, 2):
        queues = {goal: deque(route for route in routes if len(route) == size
                              and (goal, _key(route)) not in later)
                  for goal, routes in goals.items()}
        progressed = True
        while progressed:
            progressed = False
            for goal, queue in queues.items():
                if goal in done:  # its other routes wait for the last pass
                    continue
                while queue and _key(queue[0]) in tried:
                    queue.popleft()
                if queue:
                    route = queue.popleft()
                    tried.add(_key(route))
                    progressed = True
                    yield route
    for route in _in_turn(goals):
        if _key(route) not in tried:
            tried.add(_key(route))
            yield route


def _changed_case(data: dict[str, Any], route: Route, ruleset: Ruleset) -> Case | None:
    """The case (``data``: its contract mapping) with the route's findings set, or ``None``
    when the contract refuses it."""
    changed = dict(data)
    for fact, value in route.items():
        name = ruleset.input_names[fact]
        where, key = name.split(".", 1) if "." in name else ("findings", name)
        changed[where] = {**changed.get(where, {}), key: value}  # the sections touched, copied
    try:  # the contract's model decides; the document's shape was checked with the case
        return Case.model_validate(changed)
    except ValidationError:
        return None


class _Runner:
    """Runs changed cases on the engine, each once, counting runs against the cap."""

    def __init__(self, case: Case, ruleset: Ruleset, engine: str | None, cap: int) -> None:
        self.ruleset, self.engine, self.cap = ruleset, engine, cap
        self.data: dict[str, Any] = case.model_dump(mode="json", exclude_none=True)
        self.backend = get_backend(ruleset, engine, decisions_only=True)
        self.runs = 0
        self.seen: dict[RouteKey, Outcome | None] = {}

    def outcome(self, route: Route) -> Outcome | None:
        """The outcome of the changed case (``None``: refused by the contract, or over the cap)."""
        key = _key(route)
        if key in self.seen:
            return self.seen[key]
        if self.runs >= self.cap:
            return None
        changed = _changed_case(self.data, route, self.ruleset)
        found = None
        if changed is not None:
            self.runs += 1
            found = self._run(changed)
        self.seen[key] = found
        return found

    def _run(self, case: Case) -> Outcome:
        """The engine's triage level, conditions and fired rules for one case."""
        ruleset = self.ruleset
        facts = build_facts(case, ruleset.fact_definitions)
        firing = Firing(ruleset, self.backend.run(facts), facts)
        return Outcome(triage_level(firing),
                       tuple(entry.condition for entry in build_differential(firing)),
                       tuple(rule.id for rule in firing.fired))


def what_if(case: Case, result: Result, state: CaseState, *, engine: str | None,
            max_runs: int = DEFAULT_MAX_RUNS) -> tuple[list[WhatIf], WhatIfSearch]:
    """The smallest changes that change the result, each confirmed by the engine, and the search."""
    ruleset = state.ruleset
    before = Outcome.of(result)
    goals, later = goal_routes(state, result)
    in_turn = {_key(route): position for position, route in enumerate(_in_turn(goals))}
    candidates = len(in_turn)
    runner = _Runner(case, ruleset, engine, max_runs)
    found: list[tuple[Route, Outcome]] = []
    done: set[str] = set()
    tried = 0
    for route in search_order(goals, done, later):
        if runner.runs >= max_runs:
            break
        tried += 1
        after = runner.outcome(route)
        if after is None or after.same_result(before):
            continue
        if len(route) > 1 and any(
                (alone := runner.outcome({fact: value})) is not None and alone.same_result(after)
                for fact, value in route.items()):
            continue
        found.append((route, after))
        done |= reached(goals, before, after)
    search = WhatIfSearch(candidates=candidates, engine_runs=runner.runs, cap=max_runs,
                          capped=tried < candidates)
    found.sort(key=lambda pair: in_turn[_key(pair[0])])  # listed in the goals' turn order
    items = [_what_if(route, before, after, state) for route, after in found]
    items.sort(key=lambda item: (-abs(level_rank(item.triage_after) - level_rank(item.triage_before)),
                                 -level_rank(item.triage_after), len(item.changes)))
    return items, search


def _what_if(route: Route, before: Outcome, after: Outcome, state: CaseState) -> WhatIf:
    ruleset = state.ruleset
    vocabulary = ruleset.vocabulary
    changes = []
    for fact in sorted(route, key=lambda fact: ruleset.input_order[ruleset.input_names[fact]]):
        old = state.facts.get(fact)
        new = route[fact]
        words = f"{vocabulary.phrase(fact, new)} (was: {vocabulary.value(fact, old)})"
        changes.append(Change(input=ruleset.input_names[fact], before=old, after=new, words=words))
    added = [c for c in after.conditions if c not in before.conditions]
    dropped = [c for c in before.conditions if c not in after.conditions]
    return WhatIf(changes=changes, triage_before=before.level, triage_after=after.level,
                  conditions_added=added, conditions_dropped=dropped,
                  rules_fired=[r for r in after.fired if r not in before.fired],
                  rules_stopped=[r for r in before.fired if r not in after.fired],
                  summary=summary(before, after, ruleset))


def summary(before: Outcome, after: Outcome, ruleset: Ruleset) -> str:
    """What changes, in words: ``the triage rises from self-care to prompt review; adds ...``."""
    vocabulary = ruleset.vocabulary
    parts = []
    if after.level != before.level:
        verb = "rises" if level_rank(after.level) > level_rank(before.level) else "falls"
        parts.append(f"the triage {verb} from {vocabulary.level(before.level).label.lower()} "
                     f"to {vocabulary.level(after.level).label.lower()}")
    added = [vocabulary.condition_title(c) for c in after.conditions if c not in before.conditions]
    dropped = [vocabulary.condition_title(c) for c in before.conditions if c not in after.conditions]
    if added:
        parts.append("adds " + ", ".join(added) + " to the differential")
    if dropped:
        parts.append("drops " + ", ".join(dropped) + " from the differential")
    return "; ".join(parts)


def rules_titles(rule_ids: list[str], ruleset: Ruleset) -> list[str]:
    """The titles of rules, in the order given."""
    return [ruleset.vocabulary.rule_title(rule_id) for rule_id in rule_ids]


def fired_rules(result: Result, ruleset: Ruleset) -> list[Rule]:
    """The rules a result's trace shows fired, in firing order."""
    default = ruleset.triage_default["id"]  # the default level is in the trace, not a rule
    ids = dict.fromkeys(entry.rule for entry in result.trace if entry.rule != default)
    return [ruleset.rule(rule_id) for rule_id in ids]

