"""The regulatory pack (ruleset report --kind hti1|trace|basis): filled from metadata, gaps listed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from twitchrules.case import vocabulary as contract
from twitchrules.cli import main
from twitchrules.engine import cached_ruleset
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.hazards import hazards_path, load_hazards
from twitchrules.ruleset.regulatory import HTI1_ATTRIBUTES, NOT_RECORDED, Pack, render_pack
from twitchrules.verify.pack import build_pack

from .conftest import CASES_DIR, STARTER


def report(*args: str) -> tuple[int, str]:
    """Run ``ruleset report`` in process: exit code and output."""
    done = CliRunner().invoke(main, ["ruleset", "report", *args])
    return done.exit_code, done.output


@pytest.fixture(scope="module")
def trace() -> Pack:
    """The traceability pack of the bundled ruleset (runs its tests once for the module)."""
    return build_pack("trace")


@pytest.fixture(scope="module")
def basis() -> Pack:
    """The basis pack of the bundled ruleset."""
    return build_pack("basis")


def bundled_copy(tmp_path: Path) -> Path:
    """A copy of the bundled ruleset folder (with its lock and changelog) to change freely."""
    source = bundled_ruleset_path()
    target = tmp_path / "rulesets" / "twitching"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("releases"))
    for name in ("twitching.lock.json", "CHANGELOG.md"):
        shutil.copyfile(source.parent / name, target.parent / name)
    return target


def test_hti1_lists_the_thirteen_attributes_in_order() -> None:
    """All 13 source attributes, in order; developer and funding not recorded; sex yes, race no."""
    code, text = report("--kind", "hti1", "--format", "json")
    assert code == 0
    attributes = json.loads(text)["attributes"]
    assert [a["attribute"] for a in attributes.values()] == [w for _, w in HTI1_ATTRIBUTES]
    assert len(attributes) == 13
    assert attributes["developer"]["value"] == NOT_RECORDED
    assert attributes["funding"]["value"] == NOT_RECORDED
    assert attributes["sex"]["value"] == "yes" and attributes["race"]["value"] == "no"
    assert "seed article" in attributes["citation"]["value"]
    assert "1.0.0: released 2026-11-25" in attributes["dates"]["value"]


def test_hti1_fills_developer_and_funding_from_the_header(tmp_path: Path) -> None:
    """Once the header records developer and funding source, the page shows them (nothing else does)."""
    folder = tmp_path / "starter"
    shutil.copytree(STARTER, folder)
    header = folder / "ruleset.yaml"
    header.write_text(header.read_text(encoding="utf-8").replace(
        "authors: [twitchrules project]",
        "authors: [twitchrules project]\ndeveloper: Example Clinic informatics team\n"
        "funding_source: Example research grant 42"), encoding="utf-8")
    attributes = json.loads(render_pack(build_pack("hti1", str(folder)), "json"))["attributes"]
    assert attributes["developer"]["value"] == "Example Clinic informatics team"
    assert attributes["funding"]["value"] == "Example research grant 42"


def test_hti1_names_only_inputs_of_the_contract() -> None:
    """Every contract name an HTI-1 answer rests on is an input of the contract."""
    known = set(contract.BOOLEAN_FINDINGS) | set(contract.NUMBER_FINDINGS) | {"patient.sex", "patient.age"}
    pack = build_pack("hti1")
    for key, entry in pack.data["attributes"].items():
        assert set(entry["contract_names"]) <= known, key


def test_basis_covers_every_recommendation_with_its_rules_and_sources(basis: Pack) -> None:
    """Each recommendation id appears once, with every rule that gives it and a source."""
    ruleset = cached_ruleset(None)
    given: dict[str, set[str]] = {}
    for rule in ruleset.rules:
        for body in rule.conclusions("recommend"):
            given.setdefault(body["id"], set()).add(rule.id)
    data = basis.data["recommendations"]
    assert {entry["id"]: {b["rule"] for b in entry["given_by"]} for entry in data} == given
    for entry in data:
        for basis in entry["given_by"]:
            assert basis["source"] and basis["explanation"] and basis["when"]
            assert basis["reviewer"] == "none" or basis["status"] == "reviewed"


def test_html_is_escaped_and_self_contained(tmp_path: Path) -> None:
    """A recommendation text with markup is escaped, and the page loads nothing."""
    folder = tmp_path / "starter"
    shutil.copytree(STARTER, folder)
    (folder / "rules" / "99-markup.yaml").write_text(
        "rules:\n  - id: ADV-MARKUP\n    version: 1.0.0\n    title: Advice with markup\n"
        "    when: {fact: fatigue, is: true}\n    then:\n      - recommend: {id: markup, text: "
        "\"<script>alert(1)</script> rest well\", source: test}\n    explanation: Markup in a text.\n"
        "    provenance: {source: {reference: test}, author: twitchrules project, status: draft, "
        "reviewer: null, date: \"2026-12-03\"}\n", encoding="utf-8")
    page = render_pack(build_pack("basis", str(folder)), "html")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "default-src 'none'" in page and "http://" not in page and "https://" not in page


def test_bundled_hazard_log_resolves_and_covers_every_red_flag(trace: Pack) -> None:
    """Every name in hazards.yaml resolves, and each red flag's under-triage is a hazard with a case."""
    ruleset = cached_ruleset(None)
    problems = [g for g in trace.data["gaps"] if g["kind"].startswith("hazard")]
    assert problems == []
    hazards = load_hazards(hazards_path(ruleset))

    def reads(rule_ids: tuple[str, ...]) -> set[str]:
        facts: set[str] = set()
        todo = [ruleset.rule(r) for r in rule_ids if r != ruleset.triage_default["id"]]
        while todo:
            rule = todo.pop()
            for fact in rule.condition_facts:
                if fact not in facts:
                    facts.add(fact)
                    todo += ruleset.producers.get(fact, [])
        return facts

    definitions = ruleset.definitions
    for finding in [*definitions["red_flag_findings"], *definitions["emergency_findings"]]:
        covering = [h for h in hazards if h.id.startswith("HAZ-UNDERTRIAGE") and finding in reads(h.mitigated_by)]
        assert covering and all(h.cases for h in covering), finding
    for required in ("HAZ-MISSING-AS-BENIGN", "HAZ-LAB-UNITS", "HAZ-STALE-RULESET"):
        assert any(h.id == required and h.proved for h in hazards), required


def _gaps_of(folder: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for gap in build_pack("trace", str(folder)).data["gaps"]:
        found.setdefault(gap["kind"], []).append(gap["what"])
    return found


def test_trace_lists_every_kind_of_gap(tmp_path: Path, trace: Pack) -> None:
    """An uncited passage, an untested rule, an unproved hazard and a bad name are all listed."""
    folder = bundled_copy(tmp_path)
    header = folder / "ruleset.yaml"
    header.write_text(header.read_text(encoding="utf-8") + (
        "  - id: ART-UNCITED\n    source: article\n    label: A passage no rule cites\n"
        "    quote: \"Some words.\"\n"), encoding="utf-8")
    ruleset = cached_ruleset(str(folder))
    only_case = _only_case_of_some_rule(trace)
    (folder / "tests" / f"{only_case[1]}.json").unlink()
    log = yaml.safe_load(hazards_path(ruleset).read_text(encoding="utf-8"))
    log["hazards"].append({"id": "HAZ-NEW", "hazard": "An unproved hazard", "cause": "none yet",
                           "mitigated_by": ["RF-WASTING"]})
    log["hazards"][0]["proved_by"]["cases"].append("no-such-case")
    hazards_path(ruleset).write_text(yaml.safe_dump(log), encoding="utf-8")
    gaps = _gaps_of(folder)
    assert any(w.startswith("ART-UNCITED:") for w in gaps["passage with no rule"])
    assert any(w.startswith(f"{only_case[0]}:") for w in gaps["rule with no test"])
    assert any(w.startswith("HAZ-NEW:") for w in gaps["hazard with no test"])
    assert any("no-such-case" in w for w in gaps["hazard log"])


def _only_case_of_some_rule(trace: Pack) -> tuple[str, str]:
    """A (rule id, case id) where that case file is the only one firing the rule."""
    for row in trace.data["rules"]:
        if len(row["tests"]) == 1 and (CASES_DIR / f"{row['tests'][0]}.json").is_file():
            return row["rule"], row["tests"][0]
    pytest.skip("every rule is fired by two or more case files")


def test_cli_formats_and_bad_kind(basis: Pack) -> None:
    """The command writes JSON; md and html render the same pack; an unknown kind exits 2."""
    code, text = report("--kind", "basis", "--format", "json")
    assert code == 0 and json.loads(text)["recommendations"] == basis.data["recommendations"]
    assert render_pack(basis, "md").startswith("# Basis of each recommendation")
    assert render_pack(basis, "html").count("<table>") == len(basis.tables)
    code, text = report("--kind", "nonsense")
    assert code == 2 and "nonsense" in text
