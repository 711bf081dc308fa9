"""``twitchrules ruleset validate|audit|diff|lock`` (parsing and printing only).

The logic is in ``twitchrules.ruleset``; errors are ``TwitchrulesError``s that the main
group turns into ``Type: message`` and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..resources import bundled_ruleset_path
from ..ruleset.audit import AUDIT_FORMATS, render_audit
from ..ruleset.diff import DIFF_FORMATS, diff_rulesets, render_diff
from ..ruleset.load import load_ruleset
from ..ruleset.lock import check_lock, default_lock_path, lock_ruleset, read_lock
from .common import write_output

_PATH = click.Path(exists=True, path_type=Path)


def _target(path: Path | None) -> Path:
    return path if path is not None else bundled_ruleset_path()


@click.group("ruleset")
def ruleset_group() -> None:
    """Check, audit, compare and lock rulesets (default: the bundled ruleset)."""


@ruleset_group.command("validate")
@click.argument("path", type=_PATH, required=False)
def validate_command(path: Path | None) -> None:
    """Check a ruleset file or folder: schema, then semantics (exit 2 naming file, rule, field)."""
    ruleset = load_ruleset(_target(path))
    click.echo(f"ok: ruleset {ruleset.name} {ruleset.version}, {len(ruleset.rules)} rules, "
               f"sha256 {ruleset.sha256}")


@ruleset_group.command("audit")
@click.argument("path", type=_PATH, required=False)
@click.option("--format", "output_format", type=click.Choice(AUDIT_FORMATS), default="table",
              show_default=True, help="table, json ({\"rules\": [...]}), md or html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
def audit_command(path: Path | None, output_format: str, output: Path | None) -> None:
    """Every rule's id, version, title, source, author, review status, reviewer and date."""
    write_output(render_audit(load_ruleset(_target(path)), output_format), output)


@ruleset_group.command("diff")
@click.argument("old", type=_PATH)
@click.argument("new", type=_PATH)
@click.option("--format", "output_format", type=click.Choice(DIFF_FORMATS), default="text",
              show_default=True)
@click.option("--check", is_flag=True,
              help="Exit 1 when content changed but a rule's or the ruleset's version did not.")
def diff_command(old: Path, new: Path, output_format: str, check: bool) -> None:
    """Rules added, removed and changed (field by field, version bumped or not) from OLD to NEW."""
    diff = diff_rulesets(load_ruleset(old), load_ruleset(new))
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

    Refuses (exit 2, naming the rule and version) to overwrite a locked entry, and to lock
    a new ruleset version that CHANGELOG.md (beside the lock file) has no heading for.
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
