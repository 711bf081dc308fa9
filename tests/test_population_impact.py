"""`twitchrules impact`: who moves between two rulesets, down-triage first, and which change caused it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from twitchrules import ImpactReport, evaluate, impact, load_ruleset
from twitchrules.case import vocabulary as words
from twitchrules.population.cohort import cohort_lines
from twitchrules.population.report import render_impact

from .conftest import ROOT, STARTER
from .test_cli import run

N_CASES = 400


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: expected one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic cohort of 400 cases, some lines with ids."""
    path = tmp_path_factory.mktemp("impact") / "cases.jsonl"
    path.write_text("".join(cohort_lines(N_CASES, seed=2, ids=True)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def longer_persistence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter ruleset with "persists" moved from over 14 to over 21 days (definition and rules)."""
    target = tmp_path_factory.mktemp("rulesets") / "starter-21"
    shutil.copytree(STARTER, target)
    _edit(target / "ruleset.yaml", "persist_days: 14", "persist_days: 21")
    _edit(target / "ruleset.yaml", "version: 0.1.0", "version: 0.2.0")
    derived = target / "rules" / "10-derived.yaml"
    _edit(derived, "  - id: DUR-PERSISTS\n    version: 1.0.0", "  - id: DUR-PERSISTS\n    version: 1.1.0")
    _edit(derived, "when: {fact: duration_days, gt: 14}", "when: {fact: duration_days, gt: 21}")
    benign = target / "rules" / "40-benign.yaml"
    _edit(benign, "  - id: SC-BENIGN-SHORT\n    version: 1.0.0", "  - id: SC-BENIGN-SHORT\n    version: 1.1.0")
    _edit(benign, "{fact: duration_days, lte: 14}", "{fact: duration_days, lte: 21}")
    return target


@pytest.fixture(scope="module")
def threshold_report(cases: Path, longer_persistence: Path) -> ImpactReport:
    """The impact of the changed threshold on the cohort, in this process."""
    return impact(cases, STARTER, longer_persistence, workers=1, engine="clips")


def _records(cases: Path) -> list[tuple[int, object, dict]]:
    rows = []
    for number, line in enumerate(cases.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        rows.append((number, record["id"], record["case"]))
    return rows


def test_identical_rulesets_have_no_impact(cases: Path) -> None:
    """The same ruleset on both sides: nothing changed, no cause, a diagonal matrix; the gate passes."""
    report = impact(cases, STARTER, STARTER, workers=1, engine="clips")
    assert report.cases.compared == N_CASES and report.cases.changed == 0
    assert report.down_triage == report.up_triage == report.causes == report.differential == []
    assert report.checklist == report.recommendations == report.notices == report.missing_information == []
    matrix = report.triage.matrix
    assert sum(map(sum, matrix)) == N_CASES
    assert all(matrix[i][j] == 0 for i in range(5) for j in range(5) if i != j)
    done = run("impact", "--old", str(STARTER), "--new", str(STARTER), str(cases), "--workers", "1",
               "--fail-on", "under-triage", "--fail-on", "any-change")
    assert done.returncode == 0, done.stderr
    assert "0 changed" in done.stderr and "DOWN-TRIAGE: 0 case(s)" in done.stdout


def test_moves_are_the_cases_evaluate_moves(cases: Path, longer_persistence: Path,
                                            threshold_report: ImpactReport) -> None:
    """Every down- and up-triage listed is a case whose level evaluate gives lower or higher, and no other."""
    old, new = load_ruleset(STARTER), load_ruleset(longer_persistence)
    down, up, matrix = set(), set(), [[0] * 5 for _ in range(5)]
    for number, record_id, case in _records(cases):
        before = evaluate(case, ruleset=old, engine="clips").triage.level
        after = evaluate(case, ruleset=new, engine="clips").triage.level
        matrix[words.level_rank(before)][words.level_rank(after)] += 1
        if words.level_rank(after) < words.level_rank(before):
            down.add((number, record_id, before, after))
        elif words.level_rank(after) > words.level_rank(before):
            up.add((number, record_id, before, after))
    assert down, "the cohort should hold cases that persisted 15-21 days"
    assert {(m.line, m.id, m.old, m.new) for m in threshold_report.down_triage} == down
    assert {(m.line, m.id, m.old, m.new) for m in threshold_report.up_triage} == up
    assert threshold_report.triage.matrix == matrix
    assert threshold_report.triage.down == len(down) and threshold_report.triage.up == len(up)


def test_a_changed_threshold_is_attributed_to_its_definition(threshold_report: ImpactReport) -> None:
    """Every change of the 14 -> 21 day threshold is attributed to the definition and its rules, none unattributed."""
    causes = {cause.cause: cause for cause in threshold_report.causes}
    assert "unattributed" not in causes
    definition = causes["definitions.persist_days"]
    assert definition.kind == "definition" and definition.changes == ["definitions.persist_days: 14 -> 21"]
    assert definition.cases == threshold_report.cases.changed
    assert definition.down == threshold_report.triage.down
    assert causes["rule DUR-PERSISTS"].changes == ["when.gt: 14 -> 21"]
    assert causes["rule SC-BENIGN-SHORT"].kind == "rule-changed"
    for move in threshold_report.down_triage:
        assert "definitions.persist_days" in move.causes
    assert all(example.line > 0 for cause in causes.values() for example in cause.examples)
    one_side = {row.rule: row for row in threshold_report.rules_fired_one_side}
    assert one_side["DUR-PERSISTS"].diff == "changed" and one_side["DUR-PERSISTS"].old_only > 0


def test_a_changed_segment_is_attributed_through_the_facts(cases: Path, tmp_path: Path) -> None:
    """Moving a region to another segment changes segment facts; the moves are put down to that definition."""
    target = tmp_path / "starter-segments"
    shutil.copytree(STARTER, target)
    text = (target / "ruleset.yaml").read_text(encoding="utf-8")
    arms = re.search(r"arms: \[([^\]]*)\]", text)
    assert arms and "shoulder" in arms.group(1)
    text = text.replace(arms.group(0), arms.group(0).replace("shoulder, ", "").replace(", shoulder", ""))
    text = re.sub(r"neck_trunk: \[", "neck_trunk: [shoulder, ", text, count=1)
    (target / "ruleset.yaml").write_text(text.replace("version: 0.1.0", "version: 0.1.1"), encoding="utf-8")
    report = impact(cases, STARTER, target, workers=1, engine="clips")
    assert report.cases.changed > 0
    causes = {cause.cause for cause in report.causes}
    assert "unattributed" not in causes
    assert {"definitions.segments"} <= causes
    for move in [*report.down_triage, *report.up_triage]:
        assert "definitions.segments" in move.causes


def test_formats_and_release_gate(cases: Path, longer_persistence: Path,
                                  threshold_report: ImpactReport, tmp_path: Path) -> None:
    """--format json is the documented report; --fail-on under-triage exits 1 when a case moved down."""
    out = tmp_path / "impact.json"
    done = run("impact", "--old", str(STARTER), "--new", str(longer_persistence), str(cases), "--workers", "1",
               "--engine", "clips", "--format", "json", "-o", str(out), "--fail-on", "under-triage")
    assert done.returncode == 1, done.stderr
    assert "release gate failed: under-triage" in done.stderr and done.stdout == ""
    data = json.loads(out.read_text(encoding="utf-8"))
    expected = json.loads(threshold_report.to_json())
    for volatile in ("seconds", "runner"):
        data.pop(volatile), expected.pop(volatile)
    assert data == expected
    assert data["format"] == "twitchrules-impact/1"
    assert data["down_triage"][0] == {"line": threshold_report.down_triage[0].line,
                                      "id": threshold_report.down_triage[0].id,
                                      "old": threshold_report.down_triage[0].old,
                                      "new": threshold_report.down_triage[0].new,
                                      "causes": threshold_report.down_triage[0].causes}
    text = render_impact(threshold_report, "text")
    assert text.index("DOWN-TRIAGE") < text.index("Triage transitions") < text.index("Up-triage")


def test_bad_lines_exit_2_and_are_listed(cases: Path, tmp_path: Path) -> None:
    """Lines that are not valid cases are not compared: the report lists them and impact exits 2."""
    mixed = tmp_path / "mixed.jsonl"
    lines = cases.read_text(encoding="utf-8").splitlines()[:20]
    lines[4] = '{"id": "bad", "case": {"assessed_on": "2026-11-20", "findings": {"weaknes": true}}}'
    mixed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("impact", "--old", str(STARTER), "--new", str(STARTER), str(mixed), "--workers", "1")
    assert done.returncode == 2, done.stderr
    assert "line 5" in done.stderr and "Traceback" not in done.stderr
    assert "findings.weaknes" in done.stdout


def test_bad_ruleset_exits_2_without_a_report(cases: Path, tmp_path: Path) -> None:
    """A ruleset that cannot be loaded stops impact before any case: exit 2, nothing written."""
    out = tmp_path / "never.html"
    done = run("impact", "--old", str(STARTER), "--new", "no/such", str(cases), "--format", "html", "-o", str(out))
    assert done.returncode == 2 and "no/such" in done.stderr and not out.exists()


def test_documented_json_keys() -> None:
    """The docs page names every top-level key of the JSON report."""
    page = (ROOT / "docs" / "population.md").read_text(encoding="utf-8")
    for key in ImpactReport.model_fields:
        assert f"`{key}`" in page, key


def test_html_opens_in_chromium_with_its_charts(threshold_report: ImpactReport, tmp_path: Path) -> None:
    """The HTML report loads nothing, escapes what it shows, and Chromium draws both charts."""
    from .test_html_chromium import dump_dom, rendered_text

    hostile = threshold_report.model_copy(update={"input": "<img src=x onerror=alert(1)>.jsonl"})
    page = render_impact(hostile, "html")
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page
    measured = page.replace("</body>", """<script>
const box = id => { const e = document.getElementById(id); const b = e.getBBox();
  return [e.querySelectorAll('rect').length, Math.round(b.width), Math.round(b.height)].join(','); };
const p = document.createElement('pre'); p.id = '__charts';
p.textContent = box('transition-chart') + ';' + box('cause-chart'); document.body.appendChild(p);
</script></body>""").replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'")
    target = tmp_path / "impact.html"
    target.write_text(measured, encoding="utf-8")
    dom = dump_dom(target, tmp_path / "profile")
    found = re.search(r'<pre id="__charts">([^<]*)</pre>', dom)
    assert found, dom[-1500:]
    transition, causes = (tuple(int(n) for n in part.split(",")) for part in found.group(1).split(";"))
    assert transition[0] == 25 and transition[1] > 300 and transition[2] > 300
    segments = sum(1 for c in threshold_report.causes[:25] for n in (c.down, c.up, c.other) if n)
    assert causes[0] == segments and causes[1] > 400 and causes[2] > 20
    text = rendered_text(page, tmp_path)
    assert "Down-triage: every case with a lower triage" in text
    assert f"{threshold_report.down_triage[0].line}" in text and "definitions.persist_days" in text
