"""``twitchrules serve`` and ``twitchrules fhir ...``: the CDS Hooks service and the FHIR helpers.

They need the ``service`` extra; its packages are imported when a command runs, so the rest of
the CLI works without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..case import case_from_mapping
from ..case.reading import JsonProblem, parse_json
from ..errors import ExtraMissing
from .common import read_input

__all__ = ["ExtraMissing", "fhir", "serve"]


def _need_service_extra(error: ImportError) -> ExtraMissing:
    return ExtraMissing("service", error.name)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="JSON settings file (see docs/cds-hooks.md).")
@click.option("--public-base-url", default=None,
              help="Base URL the EHR calls; JWT aud is checked against it.")
@click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append-only JSON-lines audit log (default: audit.jsonl in the per-user "
              "state directory, e.g. ~/.local/state/twitchrules).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes sharing the port (default 1); they share the audit log "
              "and the JWT replay store.")
@click.option("--ruleset", "ruleset_path", type=click.Path(exists=True, path_type=Path),
              default=None, help="A ruleset file or folder (default: the bundled ruleset).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(
    host: str,
    port: int,
    config_path: Path | None,
    public_base_url: str | None,
    audit_log: Path | None,
    workers: int | None,
    ruleset_path: Path | None,
    log_level: str,
) -> None:
    """Run the HL7 CDS Hooks 2.0 service (patient-view, FHIR R4) on HOST:PORT.

    Settings come from --config, then TWITCHRULES_* environment variables, then these options.
    """
    try:
        from twitchrules.service import ServiceConfig, create_app
        from twitchrules.service.server import run
    except ImportError as error:
        raise _need_service_extra(error) from None
    config = ServiceConfig.load(
        config_path,
        public_base_url=public_base_url,
        audit_log=audit_log,
        ruleset=ruleset_path,
        workers=workers,
    )
    app = create_app(config)  # a bad ruleset or key file stops here, exit 2
    click.echo(
        f"twitchrules CDS Hooks service on http://{host}:{port}/cds-services "
        f"(JWT verification {'on' if config.jwt_required else 'OFF'}; "
        f"{config.workers} worker(s); audit log {config.audit_log}, fsync {config.audit_fsync})",
        err=True,
    )
    run(config, host=host, port=port, log_level=log_level, app=app)


@click.group("fhir")
def fhir() -> None:
    """FHIR R4: the assessment Questionnaire and the FHIR -> case mapping."""


@fhir.command("questionnaire")
def questionnaire() -> None:
    """Print the assessment Questionnaire (FHIR R4 JSON) that the service reads."""
    try:
        from twitchrules.fhir import load_questionnaire
    except ImportError as error:
        raise _need_service_extra(error) from None
    click.echo(json.dumps(load_questionnaire(), indent=2, ensure_ascii=False))


@fhir.command("to-case")
@click.argument("bundle", metavar="BUNDLE.json")
@click.option("--patient", "patient_id", default=None,
              help="Patient id, when the Bundle holds more than one patient.")
@click.option("--lab-max-age-days", default=90, show_default=True, type=click.IntRange(0, 3650),
              help="Ignore lab Observations older than this before assessed_on.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Also validate the case against the contract.")
def to_case(bundle: str, patient_id: str | None, lab_max_age_days: int, check: bool) -> None:
    """Print the case that a FHIR R4 Bundle maps to ('-' reads stdin); notes go to stderr."""
    try:
        from twitchrules.fhir import case_from_bundle
    except ImportError as error:
        raise _need_service_extra(error) from None
    text = read_input(bundle, param_hint="BUNDLE.json")
    try:
        document = parse_json(text)
    except JsonProblem as problem:
        raise click.BadParameter(str(problem), param_hint="BUNDLE.json") from None
    mapped = case_from_bundle(document, patient_id=patient_id, lab_max_age_days=lab_max_age_days)
    for note in mapped.notes:
        click.echo(f"note: {note}", err=True)
    if mapped.case is None:
        click.echo("no completed assessment (QuestionnaireResponse) found", err=True)
        raise SystemExit(1)
    if check:
        case_from_mapping(mapped.case)  # raises CaseError naming every field
    click.echo(json.dumps(mapped.case, indent=2, ensure_ascii=False))
