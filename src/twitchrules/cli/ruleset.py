"""``twitchrules ruleset validate|audit|diff|lock|prepare|release|test`` (parsing and printing only).

The logic is in ``twitchrules.ruleset``; errors are ``TwitchrulesError``s that the main
group turns into ``Type: message`` and an exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from ..errors import RulesetError
from ..fhir.testcases import case_files_bundle
from ..files import write_whole
from ..resources import bundled_ruleset_path
from ..ruleset.audit import AUDIT_FORMATS, count_text, render_audit
from ..ruleset.coverage import COVERAGE_FORMATS, render_coverage
from ..ruleset.diff import DIFF_FORMATS, diff_rulesets, render_diff
from ..ruleset.load import load_ruleset, prepared_form, prepared_path
from ..ruleset.lock import check_lock, default_lock_path, lock_ruleset, read_lock
from ..ruleset.regulatory import REPORT_FORMATS, REPORT_KINDS, render_pack
from ..ruleset.release import check_archive, release_ruleset
from ..ruleset.reviews import DECISIONS, read_reviews, record_review, review_head_path, reviews_path
from ..ruleset.sources import resolve_ruleset
from ..ruleset.statics import STATIC_FORMATS, check_ruleset, render_static
from ..ruleset.testing import load_case_files, tests_folder
from ..verify.pack import build_pack
from ..verify.suite import render_suite, run_ruleset_tests
from .common import engine_option, output_option, write_output

_PATH = click.Path(exists=True, path_type=Path)


def _target(path: Path | None) -> Path:
    return path if path is not None else bundled_ruleset_path()


@click.group("ruleset")
def ruleset_group() -> None:
    """Check, audit, compare and lock rulesets (default: the bundled ruleset)."""


@ruleset_group.command("validate")
@click.argument("path", type=_PATH, required=False)
@click.option("--format", "output_format", type=click.Choice(STATIC_FORMATS), default="text",
              show_default=True, help="How to print the static checks (json: counts and findings).")
def validate_command(path: Path | None, output_format: str) -> None:
    """Check a ruleset file or folder: schema, semantics, then the static checks.

    Exit 2 naming file, rule and field on a schema or semantic problem, and on a static
    error (a rule that can never fire, a fact no rule can assert, a cycle among derived
    facts); static warnings (facts nothing reads, pre-empted or subsumed rules, conflicting
    words) are listed and exit 0. A folder's archived releases are checked too: each must
    be exactly as released.
    """
    target = _target(path)
    ruleset = load_ruleset(target)
    lock_path = default_lock_path(target)
    releases = ""
    if target.is_dir() and lock_path.is_file():
        lock = read_lock(lock_path)
        problems = check_archive(target, lock)
        if problems:
            raise RulesetError(problems)
        count = len(lock.get("releases", {}))
        releases = f"; {count} archived release{'s' if count != 1 else ''} intact"
    log = reviews_path(ruleset)
    if log is not None and (log.is_file() or review_head_path(log).is_file()):
        releases += f"; review log intact ({len(read_reviews(log))} entries)"
    report = check_ruleset(ruleset)
    if output_format == "json":
        click.echo(render_static(report, "json"), nl=False)
    else:
        click.echo(f"{'ok' if not report.errors else 'static errors'}: ruleset {ruleset.name} "
                   f"{ruleset.version}: {count_text(ruleset)}, sha256 {ruleset.sha256}{releases}")
        click.echo(render_static(report), nl=False)
    if report.errors:
        sys.exit(2)


@ruleset_group.command("audit")
@click.argument("path", type=_PATH, required=False)
@click.option("--format", "output_format", type=click.Choice(AUDIT_FORMATS), default="table",
              show_default=True, help="table, json ({\"rules\": [...]}), md or html.")
@output_option("Write to this file instead of stdout.")
def audit_command(path: Path | None, output_format: str, output: Path | None) -> None:
    """Every rule's id, version, title, source, author, review status, reviewer and date."""
    write_output(render_audit(load_ruleset(_target(path)), output_format), output)


@ruleset_group.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "output_format", type=click.Choice(DIFF_FORMATS), default="text",
              show_default=True)
@click.option("--check", is_flag=True,
              help="Exit 1 when content changed but a rule's or the ruleset's version did not.")
def diff_command(old: str, new: str, output_format: str, check: bool) -> None:
    """Rules added, removed and changed (field by field, version bumped or not) from OLD to NEW.

    OLD and NEW are ruleset files or folders, released versions (twitching@1.0.0), content
    hashes (sha256:HEX) or a git commit's copy (git:REF:PATH, e.g. git:main:rulesets/twitching).
    """
    diff = diff_rulesets(resolve_ruleset(old), resolve_ruleset(new))
    click.echo(render_diff(diff, output_format), nl=False)
    if check and diff.problems:
        sys.exit(1)


@ruleset_group.command("lock")
@click.argument("path", type=_PATH, required=False)
@click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The lock file (default: <ruleset folder>.lock.json beside the ruleset).")
@click.option("--check", is_flag=True,
              help="Do not write; exit 1 if content differs from a locked hash or is not locked.")
def lock_command(path: Path | None, lock_file: Path | None, check: bool) -> None:
    """Record each rule version's and the ruleset version's hash in the append-only lock.

    Refuses (exit 2, naming the rule and version) to overwrite a locked entry, to lock a
    ruleset with a static error (see ``ruleset validate``), and to lock a new ruleset
    version that CHANGELOG.md (beside the lock file) has no heading for.
    """
    target = _target(path)
    ruleset = load_ruleset(target)
    lock_path = lock_file or default_lock_path(target)
    if check:
        report = check_lock(ruleset, read_lock(lock_path))
        for where, message in report.mismatches:
            click.echo(f"changed without a new version: {where}: {message}", err=True)
        for where, message in report.unlocked:
            click.echo(f"not locked: {where}: {message}", err=True)
        if report.mismatches or report.unlocked:
            sys.exit(1)
        click.echo(f"ok: {report.locked} entries match {lock_path}")
        return
    added = lock_ruleset(ruleset, lock_path)
    click.echo(f"{lock_path}: added {len(added)} entr{'y' if len(added) == 1 else 'ies'}")
    for entry in added:
        click.echo(f"  + {entry}")


@ruleset_group.command("prepare")
@click.option("--check", is_flag=True, help="Do not write; exit 1 if the shipped form is missing or stale.")
def prepare_command(check: bool) -> None:
    """Write the bundled ruleset's checked form (rulesets/twitching.prepared.json), which the
    first run after install reads instead of the YAML; run it after editing the ruleset.

    A stale form is never used (it names the bytes it was made from), only slower.
    """
    target = prepared_path()
    text = prepared_form()
    if check:
        try:
            current = target.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            click.echo(f"stale: {target} (run: twitchrules ruleset prepare)", err=True)
            sys.exit(1)
        click.echo(f"ok: {target} matches the ruleset")
        return
    write_whole(target, text)
    click.echo(f"{target}: written")


@ruleset_group.command("release")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path),
                required=False)
@click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The lock file (default: <ruleset folder>.lock.json beside the ruleset).")
def release_command(path: Path | None, lock_file: Path | None) -> None:
    """Release the ruleset folder's version: lock its hashes and archive its files.

    The copy goes to <folder>/releases/<version>/ and is never rewritten; afterwards the
    version can be named as <name>@<version> or sha256:<hex> wherever a ruleset is taken.
    Refuses (exit 2) a version CHANGELOG.md has no heading for, a locked hash that would
    change, a ruleset with a static error, and an archive of this version with other content.
    """
    report = release_ruleset(_target(path), lock_file)
    if report.already_released:
        click.echo(f"{report.archive}: {report.version} is already released, unchanged")
        return
    click.echo(f"released {report.version}: {report.archived_files} files archived in "
               f"{report.archive}; {len(report.lock_entries)} lock entries added")


def _progress_bar(items: Iterable[Any]) -> Iterator[Any]:
    """The items, with a progress bar on a terminal (stderr) and silently otherwise."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label="case files", file=sys.stderr) as bar:
        yield from bar


@ruleset_group.command("test")
@click.argument("ruleset_spec", metavar="[RULESET]", required=False)
@click.option("--cases", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A folder of case files to run instead of the ruleset's own tests/.")
@engine_option()
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Also print the share of rules the cases fired and every rule none fired.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="PERCENT",
              help="Exit 1 when fewer than PERCENT of the rules fired (implies --coverage).")
@click.option("--format", "coverage_format", type=click.Choice(COVERAGE_FORMATS), default="text",
              show_default=True, help="How to print the coverage (json: documented keys, alone on "
                                      "stdout, the summary on stderr; implies --coverage).")
def test_command(ruleset_spec: str | None, cases: Path | None, engine: str | None, show_coverage: bool,
                 min_coverage: float | None, coverage_format: str) -> None:
    """Run the ruleset's expected-outcome case files (its tests/ folder) and report every failure.

    RULESET is a folder, a released version (twitching@1.0.0) or a sha256: (default: the
    bundled ruleset). For each failing case, prints what it expected against what the result
    shows (triage, differential, recommendations, checklist, missing information, notices).
    Exit 1 on any failure, or when coverage is below --min-coverage; 2 on a bad case file.
    With --format json, standard output carries the coverage JSON only: the failures and the
    summary line go to standard error.
    """
    report = run_ruleset_tests(ruleset_spec, cases, engine, progress=_progress_bar)
    as_json = coverage_format == "json"
    click.echo(render_suite(report), nl=False, err=as_json)  # stdout is the JSON's alone
    below = min_coverage is not None and report.coverage.share < min_coverage
    if show_coverage or min_coverage is not None or as_json:
        click.echo(render_coverage(report.coverage, coverage_format), nl=False)
        if below:
            click.echo(f"coverage {report.coverage.share:.1f}% is below --min-coverage {min_coverage:g}%",
                       err=True)
    if report.failures or below:
        sys.exit(1)


@ruleset_group.command("report")
@click.argument("ruleset_spec", metavar="[RULESET]", required=False)
@click.option("--kind", type=click.Choice(REPORT_KINDS), required=True,
              help="hti1 (ONC HTI-1 source attributes), trace (passage -> rules -> tests -> "
                   "hazards, with gaps) or basis (each recommendation's basis and source).")
@click.option("--format", "output_format", type=click.Choice(REPORT_FORMATS), default="md",
              show_default=True)
@engine_option()
@output_option("Write to this file instead of stdout.")
def report_command(ruleset_spec: str | None, kind: str, output_format: str, engine: str | None,
                   output: Path | None) -> None:
    """A page of the regulatory pack, generated from rule metadata (never filled by hand).

    RULESET is a folder, a released version (twitching@1.0.0) or a sha256: (default: the
    bundled ruleset). ``trace`` runs the ruleset's own tests to see which rules they fire
    and reads its hazard log (hazards.yaml); facts the project has not recorded read
    "not recorded".
    """
    write_output(render_pack(build_pack(kind, ruleset_spec, engine), output_format), output)


@ruleset_group.command("review")
@click.argument("rule_id")
@click.option("--by", "by", required=True, help="Who reviewed the rule (a name, never invented).")
@click.option("--role", required=True, help="The reviewer's role, e.g. 'consultant neurologist'.")
@click.option("--decision", type=click.Choice(DECISIONS), required=True)
@click.option("--note", default=None, help="Why, in a sentence (optional).")
@click.option("--ruleset", "folder", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The ruleset folder (default: the bundled ruleset's folder).")
def review_command(rule_id: str, by: str, role: str, decision: str, note: str | None,
                   folder: Path | None) -> None:
    """Record a reviewer's decision on RULE_ID's current content in the folder's reviews.jsonl.

    The entry (who, role, when in UTC, decision, note, the rule's version and content sha256)
    is appended, sealed by its own sha256 and chained to the entry before it, and
    reviews.head.json records the log's new end; the log is never rewritten. ``ruleset audit``
    shows each rule's latest review and whether the rule changed since. Exit 2 on an unknown
    rule or an edited log.
    """
    ruleset = load_ruleset(_target(folder))
    review = record_review(ruleset, rule_id, by, role, decision, note)
    click.echo(f"recorded: {review.decision} of {review.rule} {review.rule_version} "
               f"(sha256 {review.rule_sha256[:12]}...) by {review.by} ({review.role}) at "
               f"{review.at} in {reviews_path(ruleset)}")


@ruleset_group.command("export-tests")
@click.argument("ruleset_spec", metavar="[RULESET]", required=False)
@output_option("Write to this file instead of stdout.")
def export_tests_command(ruleset_spec: str | None, output: Path | None) -> None:
    """The ruleset's case files as FHIR R4 test-case Libraries (CRMI style) in one Bundle.

    Per case: a Library of type test-case naming the ruleset and operation under test
    (cqf-testArtifact), the case (cqf-inputParameters), the case as FHIR resources
    (cqf-inputData, a Bundle entry beside it) and the expected outcome
    (cqf-outputParameters). See docs/audit.md for the format.
    """
    ruleset = resolve_ruleset(ruleset_spec if ruleset_spec is not None else bundled_ruleset_path())
    folder = tests_folder(ruleset)
    if folder is None:
        raise RulesetError([(ruleset.path, "has no tests/ folder of case files")])
    cases = [{"id": c.id, "title": c.title, "source": c.source, "case": c.case, "expect": c.expect}
             for c in load_case_files(folder)]
    bundle = case_files_bundle(cases, ruleset.name, ruleset.version)
    write_output(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", output)
