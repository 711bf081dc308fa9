"""``twitchrules verify``: reproduce a past decision (a result, a batch results file, an audit entry).

Exit 0 when every decision is reproduced exactly, 1 when one differs or its ruleset is not in
the archive, 2 on bad input (naming the file and the field).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..case import case_from_json
from ..case.reading import JsonProblem, parse_json
from ..verify.records import render_audit_check, render_batch, verify_audit, verify_batch
from ..verify.reproduce import MISSING, Verification, VerifyInputError, render_verification, verify_result
from .common import read_input

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _is_batch(path: Path) -> bool:
    """Whether a results file is a batch's JSON lines (its first line a ``{"line", "result"}`` object)."""
    with path.open("rb") as stream:
        head = stream.read(2)
        if head == b"\x1f\x8b":
            return True
        stream.seek(0)
        for raw in stream:
            if raw.strip():
                try:
                    first = json.loads(raw)
                except ValueError:
                    return False
                return isinstance(first, dict) and {"line", "result"} <= set(first)
    return False


def _json_value(value: Any) -> Any:
    return None if value is MISSING else value


def _verification_dict(verification: Verification) -> dict[str, Any]:
    ruleset = verification.ruleset
    return {
        "status": verification.status,
        "ruleset": None if ruleset is None else {
            "name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256},
        "engine": verification.engine,
        "notes": verification.notes,
        "differences": [{"path": d.path, "recorded": _json_value(d.recorded), "now": _json_value(d.now),
                         "recorded_absent": d.recorded is MISSING, "now_absent": d.now is MISSING}
                        for d in verification.differences],
    }


@click.command("verify")
@click.argument("files", nargs=-1, metavar="RESULT.json CASE.json")
@click.option("--audit", "audit_log", type=_FILE, default=None, metavar="LOG",
              help="Check the service audit log's entries of CASE.json (found by its canonical sha256).")
@click.option("--refused", "refused_file", type=_FILE, default=None, metavar="REFUSED.jsonl",
              help="With a batch results file: the batch's refused file; the case lines it names "
                   "count as refused, not as missing results.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def verify_command(files: tuple[str, ...], audit_log: Path | None, refused_file: Path | None,
                   output_format: str) -> None:
    """Reproduce a past decision: re-run the case on the ruleset and engine the result names.

    RESULT.json is what `twitchrules evaluate --format json` printed; the ruleset is found in
    the archive by the sha256 it records. RESULT may also be a batch results file
    (`twitchrules batch`) with CASE its cases file: every line is checked, and a case line with
    no result fails the run unless it is not a valid case or --refused names it. With --audit LOG,
    give only CASE.json: its entries in the service audit log are checked (triage and fired
    rules). Exit 0 when reproduced exactly, 1 when not (every differing field is listed), 2 on
    bad input.
    """
    wanted = 1 if audit_log is not None else 2
    if len(files) != wanted:
        usage = "CASE.json (with --audit LOG)" if audit_log is not None else "RESULT.json CASE.json"
        raise click.UsageError(f"expected {usage}, got {len(files)} argument(s)")
    if audit_log is not None:
        if refused_file is not None:
            raise click.UsageError("--refused goes with a batch results file, not with --audit")
        case = case_from_json(read_input(files[0], param_hint="CASE.json"))
        check = verify_audit(audit_log, case)
        if output_format == "json":
            click.echo(json.dumps({"log": check.log, "case_sha256": check.case_sha256, "calls": check.calls,
                                   "ok": check.ok, "entries": [vars(e) for e in check.entries]},
                                  indent=2, ensure_ascii=False))
        else:
            click.echo(render_audit_check(check), nl=False)
        sys.exit(0 if check.ok else 1)
    result_arg, case_arg = files
    result_path = Path(result_arg)
    if not result_path.is_file():
        raise click.BadParameter(f"no such file: {result_arg}", param_hint="RESULT.json")
    if _is_batch(result_path):
        if not Path(case_arg).is_file():
            raise click.BadParameter(f"no such file: {case_arg}", param_hint="CASES.jsonl")
        report = verify_batch(result_path, case_arg, refused=refused_file)
        if output_format == "json":
            summary = {key: getattr(report, key) for key in (
                "results", "cases", "checked", "reproduced", "differing", "not_found", "refused", "missing",
                "problems")}
            summary["ok"] = report.ok
            summary["notes"] = report.notes
            summary["failures"] = [{"line": f.line, "id": f.id, "problem": f.problem,
                                    "verification": None if f.verification is None
                                    else _verification_dict(f.verification)} for f in report.failures]
            click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            click.echo(render_batch(report), nl=False)
        sys.exit(0 if report.ok else 1)
    if refused_file is not None:
        raise click.UsageError("--refused goes with a batch results file, not with one result")
    try:
        recorded = parse_json(result_path.read_bytes())
    except JsonProblem as problem:
        raise VerifyInputError([(f"{result_path.name}: {problem.location}" if problem.location
                                 else result_path.name, problem.message)]) from None
    case = case_from_json(read_input(case_arg, param_hint="CASE.json"))
    verification = verify_result(recorded, case, result_path.name)
    if output_format == "json":
        click.echo(json.dumps(_verification_dict(verification), indent=2, ensure_ascii=False))
    else:
        click.echo(render_verification(verification), nl=False)
    sys.exit(0 if verification.reproduced else 1)
