"""Ruleset commands for auditors: validate, audit (table, json, md, html) and diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from twitchrules import load_ruleset
from twitchrules.cli import main
from twitchrules.ruleset.audit import audit_records, render_audit
from twitchrules.ruleset.diff import diff_rulesets, field_changes, render_diff, version_key
from twitchrules.ruleset.words import condition_text

from .conftest import STARTER

AUDIT_FIELDS = {"id", "version", "title", "source_label", "source_quote", "source_reference",
                "author", "status", "reviewer", "date"}


def cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return exit code, stdout and stderr."""
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.stdout, done.stderr


def copy_starter(tmp_path: Path, name: str = "rs") -> Path:
    """A writable copy of the starter ruleset folder."""
    target = tmp_path / name
    shutil.copytree(STARTER, target)
    return target


def edit_rules(folder: Path, file: str, edit) -> None:
    """Load one rules file of a ruleset copy, apply ``edit`` to its rule list, write it back."""
    path = folder / "rules" / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document["rules"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def edit_header(folder: Path, edit) -> None:
    """Apply ``edit`` to the header document (ruleset.yaml) of a ruleset copy."""
    path = folder / "ruleset.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def by_id(rules: list[dict], rule_id: str) -> dict:
    """The rule with this id in a rules list."""
    return next(rule for rule in rules if rule["id"] == rule_id)


# ---------------------------------------------------------------- validate


def test_validate_good_ruleset_exits_0() -> None:
    """validate prints ok with name, version and hash and exits 0 for a good ruleset."""
    code, out, _ = cli("ruleset", "validate", str(STARTER))
    assert code == 0
    assert out.startswith("ok: ruleset twitching 0.1.0")


def test_validate_names_file_rule_and_field(tmp_path: Path) -> None:
    """A broken rule exits 2 and names the file, the rule id and the field."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-WEAKNESS")["when"].update(fact="weaknes"))
    code, out, err = cli("ruleset", "validate", str(folder))
    assert code == 2
    assert out == ""
    assert "rules/20-red-flags.yaml: RF-WEAKNESS: when (weaknes)" in err
    assert "did you mean 'weakness'" in err


def test_validate_schema_error_names_field(tmp_path: Path) -> None:
    """A schema violation in provenance names the file, rule and field path."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-SPREAD")["provenance"].update(status="approved"))
    code, _, err = cli("ruleset", "validate", str(folder))
    assert code == 2
    assert "rules/20-red-flags.yaml: RF-SPREAD: provenance.status" in err


def test_validate_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    """A path that does not exist is refused with exit 2."""
    code, _, err = cli("ruleset", "validate", str(tmp_path / "nope"))
    assert code == 2
    assert "does not exist" in err


# ---------------------------------------------------------------- audit


def test_audit_json_lists_every_rule_with_provenance() -> None:
    """audit --format json gives {"rules": [...]} with every rule and the default triage."""
    code, out, _ = cli("ruleset", "audit", str(STARTER), "--format", "json")
    assert code == 0
    audit = json.loads(out)
    ruleset = load_ruleset(STARTER)
    assert [r["id"] for r in audit["rules"]] == [r.id for r in ruleset.rules] + ["TRIAGE-DEFAULT"]
    for record in audit["rules"]:
        assert record.keys() >= AUDIT_FIELDS
        assert record["source_quote"] or record["source_reference"]
    assert audit["ruleset"]["sha256"] == ruleset.sha256


def test_audit_quotes_the_passage_and_reports_review_status() -> None:
    """A rule citing a passage carries its label and quote; unreviewed rules have no reviewer."""
    records = {r.id: r for r in audit_records(load_ruleset(STARTER))}
    wasting = records["RF-WASTING"]
    assert wasting.source_label == "Red Flags table, row 2"
    assert "visible muscle wasting" in wasting.source_quote
    assert wasting.status == "draft" and wasting.reviewer is None
    assert records["DX-MMN-1"].source_reference.startswith("Clinical references")


@pytest.mark.parametrize("output_format", ["table", "md", "html"])
def test_audit_formats_name_every_rule(output_format: str) -> None:
    """Every audit format names every rule id, its version and its review status."""
    code, out, _ = cli("ruleset", "audit", str(STARTER), "--format", output_format)
    assert code == 0
    for rule in load_ruleset(STARTER).rules:
        assert rule.id in out
    assert "draft" in out and "1.0.0" in out


def test_audit_markdown_escapes_pipes_and_quotes_passages(tmp_path: Path) -> None:
    """A '|' in a title does not break the Markdown table; passages are quoted as blockquotes."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-SPREAD").update(title="spread | <b>x</b>"))
    text = render_audit(load_ruleset(folder), "md")
    row = next(line for line in text.splitlines() if line.startswith("| [RF-SPREAD]"))
    assert "spread \\| &lt;b&gt;x&lt;/b&gt;" in row
    assert row.replace("\\|", "").count("|") == 8
    quote = next(line for line in text.splitlines() if "Neurodegenerative disease" in line)
    assert quote.lstrip().startswith("> Twitching with visible muscle wasting | Neuro")


def test_audit_html_escapes_ruleset_text(tmp_path: Path) -> None:
    """Ruleset text is escaped in the HTML audit (no markup injected from data)."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-SPREAD").update(title="<script>x()</script>"))
    page = render_audit(load_ruleset(folder), "html")
    assert "<script>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page


def test_audit_output_file(tmp_path: Path) -> None:
    """-o writes the audit to a file instead of stdout."""
    target = tmp_path / "audit.json"
    code, out, _ = cli("ruleset", "audit", str(STARTER), "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["rules"]


def test_condition_text_reads_as_words() -> None:
    """Conditions print as words with and/or and comparison signs."""
    when = {"all": [{"fact": "weakness", "is": True},
                    {"any": [{"fact": "age", "gte": 50}, {"fact": "course", "in": ["worsening"]}]}]}
    assert condition_text(when) == 'weakness is true and (age >= 50 or course in "worsening")'


# ---------------------------------------------------------------- diff


def test_diff_identical_rulesets_is_empty() -> None:
    """Diffing a ruleset with itself finds nothing and no problems."""
    diff = diff_rulesets(load_ruleset(STARTER), load_ruleset(STARTER))
    assert not (diff.added or diff.removed or diff.changed or diff.other or diff.problems)


def test_diff_reports_added_removed_changed_with_fields(tmp_path: Path) -> None:
    """diff names added, removed and changed rules, each changed field, and version bumps."""
    new = copy_starter(tmp_path)

    def edit(rules: list[dict]) -> None:
        weakness = by_id(rules, "RF-WEAKNESS")
        weakness["version"] = "1.1.0"
        weakness["then"][0]["triage"]["level"] = "urgent"
        by_id(rules, "RF-SPREAD")["provenance"]["author"] = "someone else"  # no bump
        rules.remove(by_id(rules, "RF-PERSIST"))
        added = json.loads(json.dumps(by_id(rules, "RF-SPREAD")))
        added["id"] = "RF-NEW"
        rules.append(added)

    edit_rules(new, "20-red-flags.yaml", edit)
    edit_header(new, lambda doc: doc.update(version="0.2.0"))
    diff = diff_rulesets(load_ruleset(STARTER), load_ruleset(new))
    assert [r.id for r in diff.added] == ["RF-NEW"]
    assert [r.id for r in diff.removed] == ["RF-PERSIST"]
    changed = {c.id: c for c in diff.changed}
    assert set(changed) == {"RF-WEAKNESS", "RF-SPREAD"}
    weakness = changed["RF-WEAKNESS"]
    assert weakness.version_bumped
    assert [(f.path, f.old, f.new) for f in weakness.changes] == [
        ("then[0].triage.level", "prompt", "urgent")]
    assert not changed["RF-SPREAD"].version_bumped
    assert diff.ruleset_version_bumped
    assert diff.problems == [("RF-SPREAD", "changed but its version stayed 1.0.0")]

    code, out, _ = cli("ruleset", "diff", str(STARTER), str(new))
    assert code == 0
    assert "RF-WEAKNESS 1.0.0 -> 1.1.0 (version bumped)" in out
    assert "then[0].triage.level: prompt -> urgent" in out
    assert "RF-SPREAD 1.0.0 -> 1.0.0 (version NOT bumped)" in out
    assert "Ruleset twitching: 0.1.0 -> 0.2.0 (version bumped" in out
    code, out, _ = cli("ruleset", "diff", str(STARTER), str(new), "--check", "--format", "json")
    assert code == 1
    assert json.loads(out)["problems"][0]["where"] == "RF-SPREAD"


def test_diff_flags_ruleset_change_without_version_bump(tmp_path: Path) -> None:
    """A passage edited without a new ruleset version is reported as a problem."""
    new = copy_starter(tmp_path)
    edit_header(new, lambda doc: doc["passages"][0].update(quote="edited quote"))
    diff = diff_rulesets(load_ruleset(STARTER), load_ruleset(new))
    assert [f.path for f in diff.other] == ["passages.ART-REDFLAG-SPREAD.quote"]
    assert diff.problems == [("ruleset", "content changed but its version stayed 0.1.0")]
    assert "Version discipline problems (1)" in render_diff(diff, "md")


def test_field_changes_and_version_order() -> None:
    """Field changes use dotted paths; versions compare numerically."""
    changes = field_changes({"a": {"b": 1, "c": [1, 2]}}, {"a": {"b": 2, "c": [1, 3], "d": 0}})
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("a.b", 1, 2), ("a.c[1]", 2, 3), ("a.d", "(absent)", 0)]
    assert version_key("1.10.0") > version_key("1.9.2")
    assert field_changes(1, 1.0) == [field_changes(1, 1.0)[0]]  # a type change is a change


def test_validate_and_audit_a_single_file_ruleset(tmp_path: Path) -> None:
    """A ruleset given as one JSON file validates and audits like a folder."""
    from twitchrules.ruleset import read_merged

    document, _ = read_merged(STARTER)
    single = tmp_path / "one.json"
    single.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = cli("ruleset", "validate", str(single))
    assert code == 0 and "ok: ruleset twitching 0.1.0" in out
    code, out, _ = cli("ruleset", "audit", str(single), "--format", "json")
    assert code == 0
    assert json.loads(out)["ruleset"]["sha256"] == load_ruleset(STARTER).sha256


def test_validate_and_audit_count_the_rules_the_same_way() -> None:
    """validate, the audit table, md and json agree: N rules plus the default triage (N + 1 items)."""
    ruleset = load_ruleset()
    count = len(ruleset.rules)
    words = f"{count} rules plus the default triage ({count + 1} audited items)"
    outputs = [cli("ruleset", "validate"), cli("ruleset", "audit"), cli("ruleset", "audit", "--format", "md")]
    for code, out, err in outputs:
        assert code == 0, err
        assert words in out.replace("\\", "")
    code, out, _ = cli("ruleset", "audit", "--format", "json")
    audit = json.loads(out)
    assert audit["summary"]["rules"] == count == sum(1 for r in audit["rules"] if r["kind"] == "rule")
    assert audit["summary"]["audited_items"] == count + 1 == len(audit["rules"])


def test_audit_table_fits_in_100_columns() -> None:
    """The default audit table is at most 100 characters wide and still names every rule's source."""
    code, out, _ = cli("ruleset", "audit")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    for record in audit_records(load_ruleset()):
        assert f"\n{record.id} " in out
        assert record.source_text.split()[0] in out
