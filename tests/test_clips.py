"""CLIPS backend specifics: its two modes agree, cases are isolated, threads, the default."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from twitchrules import evaluate, load_ruleset
from twitchrules.case import build_facts, case_from_mapping
from twitchrules.case.synthetic import generate_cases
from twitchrules.engine import (
    available_engines,
    choose_engine,
    compile_program,
    default_engine,
    get_backend,
)
from twitchrules.ruleset.conditions import All, Any_, Atom, Unknown

from .conftest import STARTER, base_case

pytestmark = pytest.mark.skipif("clips" not in available_engines(),
                                reason="clipspy is not installed")


@pytest.fixture(scope="module")
def bundled() -> Any:
    """The bundled clinical ruleset."""
    return load_ruleset()


@pytest.mark.parametrize("which", ["bundled", "starter"])
def test_native_mode_matches_live_mode(which: str, bundled: Any) -> None:
    """Rules asserting their own conclusions fire exactly as rules calling back into Python.

    The live mode asserts what ``Session.fire`` returns, as the durable-rules backend does;
    the native mode must give the same firing record on every case, on any Python.
    """
    from twitchrules.engine import clips_backend

    ruleset = bundled if which == "bundled" else load_ruleset(STARTER)
    program = compile_program(ruleset)
    native, live = clips_backend.ClipsBackend(program), clips_backend.ClipsBackend(program, live=True)
    differing = []
    for number, case in enumerate(generate_cases(1000, 7, ruleset=ruleset)):
        facts = build_facts(case_from_mapping(case), ruleset.fact_definitions)
        if native.run(facts) != live.run(facts):
            differing.append(number)
    assert differing == []


def test_no_fact_survives_a_case(starter_ruleset: Path) -> None:
    """One reset per case: after a case the environment holds that case's facts only, the same
    as a fresh environment that ran nothing before it."""
    from twitchrules.engine import clips_backend

    ruleset = load_ruleset(starter_ruleset)
    program = compile_program(ruleset)
    used, fresh = clips_backend.ClipsBackend(program), clips_backend.ClipsBackend(program)
    heavy = build_facts(case_from_mapping(base_case(weakness=True, muscle_wasting=True)),
                        ruleset.fact_definitions)
    light = build_facts(case_from_mapping(base_case()), ruleset.fact_definitions)
    used.run(heavy)
    [environment] = used._pool
    after_heavy = environment.env.eval("(length$ (get-fact-list))")
    assert used.run(light) == fresh.run(light)
    [clean] = fresh._pool
    count = environment.env.eval("(length$ (get-fact-list))")
    assert count == clean.env.eval("(length$ (get-fact-list))") < after_heavy
    assert environment.trace.value == clean.trace.value


def test_threads_get_their_own_answers(starter_ruleset: Path) -> None:
    """Eight threads evaluating different cases at once each get the sequential answer."""
    ruleset = load_ruleset(starter_ruleset)
    cases = generate_cases(64, 3, ruleset=ruleset)
    expected = [evaluate(case, ruleset=ruleset, engine="clips").to_json() for case in cases]
    failures: list[int] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        start.wait()
        for _ in range(5):
            for index in range(offset, len(cases), 8):
                if evaluate(cases[index], ruleset=ruleset, engine="clips").to_json() != expected[index]:
                    failures.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    backend = get_backend(ruleset, "clips")
    assert 1 <= len(backend._pool) <= 8  # at most one environment per concurrent thread


def test_engine_named_in_result(starter_ruleset: Path) -> None:
    """The result says CLIPS produced it, with the clipspy version."""
    from importlib import metadata

    result = evaluate(base_case(), ruleset=starter_ruleset, engine="clips")
    assert result.engine.name == "clips"
    assert result.engine.version == metadata.version("clipspy")


def test_default_engine() -> None:
    """CLIPS is the default wherever it imports, and choosing the default names it."""
    assert "clips" in available_engines()
    assert default_engine() == "clips"
    assert choose_engine(None) == "clips"


def test_conditions_compile_to_the_same_truth() -> None:
    """Each kind of condition node gives CLIPS the truth value ``Atom.holds`` gives."""
    from twitchrules.engine import clips_backend

    clips = pytest.importorskip("clips")
    names = {"b": "b", "n": "n", "w": "w"}
    cases: list[tuple[Any, dict[str, Any], bool]] = [
        (Atom("b", "is", True), {"b": True}, True),
        (Atom("b", "is", True), {"b": False}, False),
        (Atom("b", "is", False), {}, False),
        (Atom("n", "is", 2), {"n": 2.0}, True),
        (Atom("n", "gte", 14), {"n": 14}, True),
        (Atom("n", "gt", 14), {"n": 14}, False),
        (Atom("n", "lt", 0.5), {"n": 0.49}, True),
        (Atom("n", "lte", 0.1), {}, False),
        (Atom("w", "in", ("a", 'q"uote')), {"w": 'q"uote'}, True),
        (Atom("w", "in", ("a", "b")), {"w": "nil"}, False),
        (Unknown("w"), {}, True),
        (Unknown("w"), {"w": "nil"}, False),
        (All(()), {}, True),
        (Any_(()), {}, False),
        (Any_((Atom("b", "is", True), Unknown("b"))), {}, True),
        (All((Atom("b", "is", True), Atom("n", "gt", 1))), {"b": True, "n": 1}, False),
    ]
    env = clips.Environment()
    for condition, facts, truth in cases:
        slots = clips_backend._Slots(names)
        test = clips_backend._test(condition, slots)
        bound = " ".join(  # the variables stand for the case fact's slots; absent is nil
            f"(bind {var} {clips_backend._literal(facts[fact]) if fact in facts else 'nil'})"
            for fact, var in slots.used.items())
        got = env.eval(f"(progn {bound} {test})")
        assert (got == "TRUE") is truth, (condition, facts, test)


def test_salience_follows_priority(bundled: Any) -> None:
    """CLIPS saliences order the compiled rules as the program's priorities do."""
    from twitchrules.engine import clips_backend

    program = compile_program(bundled)
    salience = clips_backend.saliences(program)
    by_priority = sorted(program.rules, key=lambda rule: (rule.priority, rule.key.split("_")[1]))
    by_salience = sorted(program.rules, key=lambda rule: -salience[rule.key])
    assert [rule.priority for rule in by_priority] == [rule.priority for rule in by_salience]
    assert len(set(salience.values())) == len(program.rules)


def test_clips_runtime_error_fails_the_run(starter_ruleset: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An error CLIPS reports while running a rule is an EngineError, not a quiet result."""
    from twitchrules import EngineError
    from twitchrules.engine import clips_backend

    real = clips_backend.constructs

    def with_a_broken_rule(program: Any, *, live: bool = False) -> list[str]:
        return [*real(program, live=live),
                "(defrule broken (case) => (bind ?x (div 1 (- 1 1))))"]

    monkeypatch.setattr(clips_backend, "constructs", with_a_broken_rule)
    backend = clips_backend.ClipsBackend(compile_program(load_ruleset(starter_ruleset)))
    facts = build_facts(case_from_mapping(base_case()), load_ruleset(starter_ruleset).fact_definitions)
    with pytest.raises(EngineError, match="CLIPS run failed"):
        backend.run(facts)
    for environment in backend._pool:  # the failed case left nothing behind
        assert environment.env.eval("(length$ (get-fact-list))") == 0


def test_refused_construct_names_clips_message(starter_ruleset: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A construct CLIPS refuses while building (routers off for speed) is an EngineError that
    carries CLIPS's own message, and the environment's routers are on again afterwards."""
    from twitchrules import EngineError, diskcache
    from twitchrules.engine import clips_backend

    real = clips_backend.constructs

    def with_a_refused_rule(program: Any, *, live: bool = False) -> list[str]:
        return [*real(program, live=live), "(defrule refused (case) => (no-such-function-here))"]

    monkeypatch.setenv(diskcache.ENV_OFF, "1")
    monkeypatch.setattr(clips_backend, "constructs", with_a_refused_rule)
    with pytest.raises(EngineError, match="refused the compiled program.*no-such-function-here"):
        clips_backend.ClipsBackend(compile_program(load_ruleset(starter_ruleset)))
    monkeypatch.setattr(clips_backend, "constructs", real)
    backend = clips_backend.ClipsBackend(compile_program(load_ruleset(starter_ruleset)))
    environment = backend._pool[0]
    with pytest.raises(clips_backend.clips.CLIPSError, match="no-such-function-either"):
        environment.env.build("(defrule refused-later (case) => (no-such-function-either))")
    assert "no-such-function-either" in "".join(environment.errors.messages)


def test_two_counter_tests_in_one_conjunct(tmp_path: Path) -> None:
    """Each counter test matches a counter fact of its own (no variable shared between them)."""
    import shutil

    from twitchrules.engine import clips_backend

    shutil.copytree(STARTER, tmp_path / "starter")
    (tmp_path / "starter" / "rules" / "90-two-counters.yaml").write_text("""rules:
  - id: TWO-COUNTERS
    version: 1.0.0
    title: At least one and at least two checklist items
    when:
      all:
        - {fact: checklist_met_count, gte: 1}
        - {fact: checklist_met_count, gte: 2}
        - {fact: age, gte: 18}
    then:
      - recommend: {id: two-counters, text: Two counter tests held., source: test}
    explanation: A test rule.
    provenance:
      source: {passage: ART-CHECKLIST-THRESHOLD}
      author: twitchrules project
      status: draft
      reviewer: null
      date: "2026-11-25"
""", encoding="utf-8")
    ruleset = load_ruleset(tmp_path / "starter")
    rule = next(rule for rule in ruleset.rules if rule.id == "TWO-COUNTERS")
    program = compile_program(ruleset)
    assert any(len(compiled.counters) == 2 for compiled in program.rules)
    native, live = clips_backend.ClipsBackend(program), clips_backend.ClipsBackend(program, live=True)
    fired_somewhere = False
    for case in generate_cases(300, 9, ruleset=ruleset):
        facts = build_facts(case_from_mapping(case), ruleset.fact_definitions)
        run = native.run(facts)
        assert run == live.run(facts)
        if "durable" in available_engines():
            assert run == get_backend(ruleset, "durable").run(facts)
        fired_somewhere = fired_somewhere or rule.index in run.fired
    assert fired_somewhere
