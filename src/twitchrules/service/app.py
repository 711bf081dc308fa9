"""HTTP service: the CDS Hooks 2.0 endpoints over FHIR R4, as a FastAPI application.

``create_app`` wires the pieces: the settings, the ruleset, the JWT verifier, middleware
and error handlers (``problems``), and the routes below. A hook call is answered by
``hook.HookAnswerer``; this module only parses HTTP and hands over.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from twitchrules.fhir import load_questionnaire
from twitchrules.ruleset.load import load_ruleset
from twitchrules.ruleset.model import Ruleset
from twitchrules.service.audit import AuditLog
from twitchrules.service.auth import AuthError, JwtVerifier
from twitchrules.service.config import ServiceConfig
from twitchrules.service.hook import HOOK, HookAnswerer
from twitchrules.service.limits import BodySizeLimit
from twitchrules.service.models import (
    CdsRequest,
    CdsResponse,
    CdsService,
    DiscoveryResponse,
    FeedbackRequest,
)
from twitchrules.service.prefetch import prefetch_templates
from twitchrules.service.problems import FHIR_JSON, HttpProblem, error_responses, install_handlers

SERVICE_ID = "twitching-assessment"
log = logging.getLogger("twitchrules.service")
router = APIRouter()


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


def _config(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def _url_called(request: Request) -> str:
    config = _config(request)
    if config.public_base_url:
        return config.public_base_url.rstrip("/") + request.url.path
    return str(request.url.replace(query=None, fragment=None))


def _rules_url(request: Request) -> str:
    config = _config(request)
    if config.rules_url:
        return config.rules_url
    base = config.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/rules"


def _answerer(request: Request) -> HookAnswerer:
    answerer: HookAnswerer = request.app.state.answerer
    return answerer


async def check_jwt(request: Request) -> dict[str, Any] | None:
    """The verified JWT claims of a call (``None`` when verification is off); 401 otherwise."""
    verifier: JwtVerifier | None = request.app.state.verifier
    if verifier is None:
        return None
    try:
        return verifier.verify(request.headers.get("authorization"), _url_called(request))
    except AuthError as exc:
        _answerer(request).audit.write("auth-failed", path=request.url.path, reason=str(exc))
        raise HttpProblem(401, "login", [("Authorization", str(exc))]) from None


def _known_service(service_id: str) -> None:
    if service_id != SERVICE_ID:
        raise HttpProblem(404, "not-found", [("service", f"no service '{service_id}'")])


@router.get("/cds-services", response_model=DiscoveryResponse,
            response_model_exclude_none=True, tags=["CDS Hooks"])
async def discovery() -> DiscoveryResponse:
    """List the CDS services of this server (CDS Hooks discovery)."""
    return DiscoveryResponse(services=[_service_description()])


@router.post("/cds-services/{service_id}", response_model=CdsResponse,
             response_model_exclude_none=True, responses=error_responses(), tags=["CDS Hooks"])
async def call_service(service_id: str, body: CdsRequest, request: Request,
                       claims: dict[str, Any] | None = Depends(check_jwt)) -> CdsResponse:
    """Answer a patient-view hook call with the assessment's summary card."""
    _known_service(service_id)
    return await _answerer(request).answer(body, service_id, claims, _rules_url(request))


@router.post("/cds-services/{service_id}/feedback", responses=error_responses(),
             response_model=dict[str, Any], tags=["CDS Hooks"])
async def feedback(service_id: str, body: FeedbackRequest, request: Request,
                   claims: dict[str, Any] | None = Depends(check_jwt)) -> dict[str, Any]:
    """Record the clinician's feedback on cards (accepted or overridden) in the audit log."""
    _known_service(service_id)
    for item in body.feedback:
        reason = item.overrideReason
        _answerer(request).audit.write(
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


@router.get("/questionnaire", tags=["FHIR"], response_class=JSONResponse,
            responses={200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}},
                             "description": "The FHIR R4 Questionnaire"}})
async def questionnaire() -> JSONResponse:
    """Return the assessment Questionnaire (FHIR R4) that the service reads."""
    return JSONResponse(load_questionnaire(), media_type=FHIR_JSON)


@router.get("/rules", tags=["Rules"])
async def rules(request: Request) -> dict[str, Any]:
    """Return the rule reference: each rule's id, version, title, explanation and source."""
    loaded: Ruleset = request.app.state.ruleset
    return {
        "name": loaded.name, "version": loaded.version, "sha256": loaded.sha256,
        "rules": [
            {"id": rule.id, "version": rule.version, "title": rule.title,
             "explanation": rule.explanation, "source": loaded.source_labels[rule.index],
             "status": rule.provenance.get("status")}
            for rule in loaded.rules
        ],
    }


def create_app(config: ServiceConfig | None = None, *, ruleset: Ruleset | None = None) -> FastAPI:
    """Return the CDS Hooks service as a FastAPI app configured by ``config``."""
    config = config or ServiceConfig()
    loaded = ruleset or load_ruleset(config.ruleset)
    verifier = JwtVerifier(config) if config.jwt_required else None
    if verifier is None:
        log.warning("JWT verification is off: no JWKS configured")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        audit = AuditLog(config.audit_log)
        # Everything loaded so far (ruleset, models, engine) lives as long as the process:
        # keep it out of the collector's generations so full collections stay short.
        gc.collect()
        gc.freeze()
        async with httpx.AsyncClient(timeout=config.fhir_timeout_seconds,
                                     follow_redirects=False) as client:
            app.state.answerer = HookAnswerer(config, loaded, audit, client)
            yield
        audit.close()

    app = FastAPI(title="twitchrules CDS Hooks service", version=loaded.version,
                  description="HL7 CDS Hooks 2.0 service for muscle twitching, fed by FHIR R4.",
                  lifespan=lifespan)
    app.state.config = config
    app.state.ruleset = loaded
    app.state.verifier = verifier
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins,
                           allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"])
    install_handlers(app)
    app.include_router(router)
    return app
