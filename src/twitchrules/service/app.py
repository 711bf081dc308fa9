"""HTTP service: the CDS Hooks 2.0 endpoints over FHIR R4, as a FastAPI application.

Request flow: JWT check -> prefetch (or fetch) -> FHIR -> case (``twitchrules.fhir``) ->
``evaluate`` -> cards -> audit record. The service never builds facts or reads rules itself.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from twitchrules import CaseError, Ruleset, evaluate, load_ruleset
from twitchrules.fhir import FhirResourceError, case_from_resources, load_questionnaire
from twitchrules.fhir.mapping import resources_in
from twitchrules.service.audit import AuditLog
from twitchrules.service.auth import AuthError, JwtVerifier
from twitchrules.service.cards import problem_card, summary_card
from twitchrules.service.config import ServiceConfig
from twitchrules.service.limits import BodySizeLimit
from twitchrules.service.models import (
    CdsRequest,
    CdsResponse,
    CdsService,
    DiscoveryResponse,
    FeedbackRequest,
    OperationOutcome,
    operation_outcome,
)
from twitchrules.service.prefetch import PrefetchUnavailable, prefetch_templates, resolve_prefetch

SERVICE_ID = "twitching-assessment"
HOOK = "patient-view"
FHIR_JSON = "application/fhir+json"
log = logging.getLogger("twitchrules.service")

_ERRORS = {
    400: "Malformed request",
    401: "JWT missing or invalid",
    404: "Unknown service",
    412: "Needed FHIR data is neither prefetched nor fetchable",
    413: "Request body too large",
}


def _outcome_response(status: int, code: str, problems: list[tuple[str, str]]) -> JSONResponse:
    return JSONResponse(operation_outcome(code, problems), status_code=status,
                        media_type=FHIR_JSON)


class _HttpProblem(Exception):
    """An error answered with an OperationOutcome (raised inside endpoints)."""

    def __init__(self, status: int, code: str, problems: list[tuple[str, str]]) -> None:
        self.status = status
        self.code = code
        self.problems = problems


def _service_description() -> CdsService:
    return CdsService(
        hook=HOOK,
        id=SERVICE_ID,
        title="Muscle twitching assessment",
        description=(
            "Reads the patient's most recent twitching assessment (the twitchrules FHIR "
            "Questionnaire), recent electrolyte, TSH and B12 results, diabetes and metformin, "
            "and returns a triage level with timeframe, reasons, a ranked differential, the "
            "referral checklist, missing information and suggested tests. Decision support "
            "for clinicians; not a diagnosis."
        ),
        prefetch=prefetch_templates(),
        usageRequirements=(
            "Needs the twitchrules assessment Questionnaire (GET /questionnaire) in the EHR."
        ),
    )


def _url_called(request: Request, config: ServiceConfig) -> str:
    if config.public_base_url:
        return config.public_base_url.rstrip("/") + request.url.path
    return str(request.url.replace(query=None, fragment=None))


def _base_url(request: Request, config: ServiceConfig) -> str:
    if config.public_base_url:
        return config.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def create_app(config: ServiceConfig | None = None, *, ruleset: Ruleset | None = None) -> FastAPI:
    """Return the CDS Hooks service as a FastAPI app configured by ``config``."""
    config = config or ServiceConfig()
    loaded = ruleset or load_ruleset(config.ruleset)
    verifier = JwtVerifier(config) if config.jwt_required else None
    if verifier is None:
        log.warning("JWT verification is off: no JWKS configured")
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["audit"] = AuditLog(config.audit_log)
        # Everything loaded so far (ruleset, models, engine) lives as long as the process:
        # keep it out of the collector's generations so full collections stay short.
        gc.collect()
        gc.freeze()
        async with httpx.AsyncClient(
            timeout=config.fhir_timeout_seconds, follow_redirects=False
        ) as client:
            state["http"] = client
            yield
        state["audit"].close()

    app = FastAPI(
        title="twitchrules CDS Hooks service",
        version=loaded.version,
        description="HL7 CDS Hooks 2.0 service for muscle twitching, fed by FHIR R4.",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.ruleset = loaded
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    outcome_schema = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    error_responses: dict[int | str, dict[str, Any]] = {
        status: {"model": OperationOutcome, "description": text,
                 "content": {FHIR_JSON: outcome_schema}}
        for status, text in _ERRORS.items()
    }

    def audit() -> AuditLog:
        return state["audit"]

    def ruleset_summary() -> dict[str, str]:
        return {"name": loaded.name, "version": loaded.version, "sha256": loaded.sha256}

    def rules_url(request: Request) -> str:
        return config.rules_url or f"{_base_url(request, config)}/rules"

    async def check_jwt(request: Request) -> dict[str, Any] | None:
        if verifier is None:
            return None
        try:
            return verifier.verify(
                request.headers.get("authorization"), _url_called(request, config)
            )
        except AuthError as exc:
            audit().write("auth-failed", path=request.url.path, reason=str(exc))
            raise _HttpProblem(401, "login", [("Authorization", str(exc))]) from None

    def known_service(service_id: str) -> None:
        if service_id != SERVICE_ID:
            raise _HttpProblem(404, "not-found", [("service", f"no service '{service_id}'")])

    @app.exception_handler(_HttpProblem)
    async def _problem(_: Request, exc: _HttpProblem) -> JSONResponse:
        return _outcome_response(exc.status, exc.code, exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"] if part != "body")
            problems.append((location or "body", error["msg"]))
        return _outcome_response(400, "invalid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        return _outcome_response(exc.status_code, code, [("", str(exc.detail))])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only the type: messages of arbitrary errors may quote clinical values.
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path)
        return _outcome_response(500, "exception", [("", "internal error")])

    @app.get("/cds-services", response_model=DiscoveryResponse,
             response_model_exclude_none=True, tags=["CDS Hooks"])
    async def discovery() -> DiscoveryResponse:
        """List the CDS services of this server (CDS Hooks discovery)."""
        return DiscoveryResponse(services=[_service_description()])

    @app.post("/cds-services/{service_id}", response_model=CdsResponse,
              response_model_exclude_none=True, responses=error_responses, tags=["CDS Hooks"])
    async def call_service(
        service_id: str,
        body: CdsRequest,
        request: Request,
        claims: dict[str, Any] | None = Depends(check_jwt),
    ) -> CdsResponse:
        """Answer a patient-view hook call with the assessment's summary card."""
        known_service(service_id)
        started = time.perf_counter()
        record: dict[str, Any] = {
            "hookInstance": body.hookInstance,
            "service": service_id,
            "patientId": body.context.patientId,
            "userId": body.context.userId,
            "jwt_iss": claims.get("iss") if claims else None,
            "ruleset": ruleset_summary(),
        }
        if body.hook != HOOK:
            audit().write("call", status=400, **record)
            raise _HttpProblem(400, "not-supported",
                               [("hook", f"this service answers '{HOOK}' only")])
        try:
            prefetch = await resolve_prefetch(body, config, state["http"])
        except PrefetchUnavailable as exc:
            audit().write("call", status=412, missing=exc.keys, **record)
            raise _HttpProblem(412, "not-found",
                               [(f"prefetch.{key}", exc.reason) for key in exc.keys]) from None
        try:
            resources = [r for value in prefetch.values() for r in resources_in(value)]
            mapped = case_from_resources(
                resources, patient_id=body.context.patientId,
                lab_max_age_days=config.lab_max_age_days,
            )
        except FhirResourceError as exc:
            if exc.kind == "invalid":
                audit().write("call", status=400, error=exc.problems[0][0], **record)
                raise _HttpProblem(400, "structure", exc.problems) from None
            card = problem_card(exc.problems, ruleset_label=_label(loaded),
                                rules_url=rules_url(request))
            audit().write("call", status=200, outcome="not-evaluated",
                          problems=[loc for loc, _ in exc.problems], cards=[card.uuid],
                          **record)
            return CdsResponse(cards=[card])
        if mapped.case is None:
            audit().write("call", status=200, outcome="no-assessment", cards=[], **record)
            return CdsResponse(cards=[])
        record["questionnaireResponse"] = mapped.questionnaire_response_id
        try:
            result = evaluate(mapped.case, ruleset=loaded)
        except CaseError as exc:
            card = problem_card(exc.problems, ruleset_label=_label(loaded),
                                rules_url=rules_url(request))
            audit().write("call", status=200, outcome="not-evaluated",
                          problems=[loc for loc, _ in exc.problems], cards=[card.uuid],
                          **record)
            return CdsResponse(cards=[card])
        outcome = result.to_dict()
        card = summary_card(outcome, patient_id=body.context.patientId,
                            rules_url=rules_url(request))
        audit().write(
            "call",
            status=200,
            outcome="evaluated",
            engine=outcome["engine"],
            triage=outcome["triage"]["level"],
            fired_rules=[step["rule"] for step in outcome["trace"]],
            cards=[card.uuid],
            suggestions=[s.uuid for s in card.suggestions or []],
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            **record,
        )
        return CdsResponse(cards=[card])

    @app.post("/cds-services/{service_id}/feedback", responses=error_responses,
              response_model=dict[str, Any],
              tags=["CDS Hooks"])
    async def feedback(
        service_id: str,
        body: FeedbackRequest,
        claims: dict[str, Any] | None = Depends(check_jwt),
    ) -> dict[str, Any]:
        """Record the clinician's feedback on cards (accepted or overridden) in the audit log."""
        known_service(service_id)
        for item in body.feedback:
            reason = item.overrideReason
            audit().write(
                "feedback",
                service=service_id,
                card=item.card,
                outcome=item.outcome,
                acceptedSuggestions=[s.id for s in item.acceptedSuggestions or []],
                overrideReason=(reason.reason.code if reason and reason.reason else None),
                # The free-text comment is clinical content: record only that there was one.
                userComment=bool(reason and reason.userComment),
                outcomeTimestamp=item.outcomeTimestamp.isoformat(),
                jwt_iss=claims.get("iss") if claims else None,
            )
        return {}

    @app.get("/questionnaire", tags=["FHIR"], response_class=JSONResponse,
             responses={200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}},
                              "description": "The FHIR R4 Questionnaire"}})
    async def questionnaire() -> JSONResponse:
        """Return the assessment Questionnaire (FHIR R4) that the service reads."""
        return JSONResponse(load_questionnaire(), media_type=FHIR_JSON)

    @app.get("/rules", tags=["Rules"])
    async def rules() -> dict[str, Any]:
        """Return the rule reference: each rule's id, version, title, explanation and source."""
        return {
            **ruleset_summary(),
            "rules": [
                {
                    "id": rule.id,
                    "version": rule.version,
                    "title": rule.title,
                    "explanation": rule.explanation,
                    "source": loaded.source_label(rule.provenance),
                    "status": rule.provenance.get("status"),
                }
                for rule in loaded.rules
            ],
        }

    return app


def _label(ruleset: Ruleset) -> str:
    return f"twitchrules ruleset {ruleset.name} {ruleset.version}"

