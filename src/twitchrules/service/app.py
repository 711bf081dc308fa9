"""HTTP service: the CDS Hooks 2.0 endpoints over FHIR R4, as a FastAPI application.

``create_app`` wires the pieces: the settings, the ruleset, the JWT verifier, middleware
and error handlers (``problems``), and the routes below. A hook call is answered by
``hook.HookAnswerer``; this module only parses HTTP and hands over.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from twitchrules.case import case_from_json
from twitchrules.case.reading import JsonProblem, parse_json
from twitchrules.case.words import contract_words
from twitchrules.explain import explain_result
from twitchrules.explain.render import explanation_html
from twitchrules.fhir import load_questionnaire
from twitchrules.fhir.codes import lab_analytes, medicine_classes
from twitchrules.fhir.mapping import CONDITION_FINDINGS
from twitchrules.pipeline import evaluate
from twitchrules.ruleset.load import load_ruleset
from twitchrules.ruleset.model import Ruleset
from twitchrules.service.audit import AuditLog
from twitchrules.service.auth import AuthError, JwtVerifier, load_jwks_file
from twitchrules.service.cards import OVERRIDE_REASON_SYSTEM, OVERRIDE_REASONS
from twitchrules.service.config import ServiceConfig
from twitchrules.service.explanations import SqliteExplanationStore
from twitchrules.service.hook import HOOK, HookAnswerer
from twitchrules.service.jwks import JwksFetcher
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
from twitchrules.service.replay import JtiStore, SqliteJtiStore
from twitchrules.service.urls import Url, UrlRefused, normalise_url

DOCS_ASSETS_URL = "/docs-assets"
"""Where the Swagger UI and ReDoc assets of ``/docs`` and ``/redoc`` are served from."""

SERVICE_ID = "twitching-assessment"
OVERRIDE_REASONS_EXTENSION = "org.twitchrules.override-reasons"
"""Discovery extension key listing the override reasons the service's cards offer."""
log = logging.getLogger("twitchrules.service")


class _StrictJsonRequest(Request):
    """A request whose JSON body is read by the strict reader (``case.reading.parse_json``)."""

    async def json(self) -> Any:
        """The body parsed strictly; 400 naming the problem (duplicate key, depth, encoding)."""
        if not hasattr(self, "_json"):
            try:
                self._json = parse_json(await self.body())
            except JsonProblem as problem:
                raise HttpProblem(400, "structure", [(problem.location or "body", problem.message)]) from None
        return self._json


def _is_json_media_type(content_type: str | None) -> bool:
    """Whether a request's Content-Type says JSON: ``application/json`` or ``application/*+json``.

    Parameters (``; charset=utf-8``) do not matter. No header at all counts as JSON, as FastAPI
    reads it; a header naming anything else (``text/plain``, a form, an empty value) does not.
    """
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


class _StrictJsonRoute(APIRoute):
    """A route whose body goes through ``_StrictJsonRequest`` (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, handed the strict request; a POST that is not JSON is 415."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            if request.method == "POST":
                # Who calls, then what is called, before the body is read: a caller without
                # a valid token learns nothing about the body (401, not 400 with its
                # problems), and an unknown service is 404 whatever the body holds.
                request.state.claims = await check_jwt(request)
                service_id = request.path_params.get("service_id")
                if service_id is not None:
                    _known_service(service_id)
                # CDS Hooks 2.0 ("Use of JSON"): data "MUST be sent and received as JSON".
                # Without this, FastAPI reads another type's body as bytes and answers 400
                # "Input should be a valid dictionary", which does not say what is wrong.
                if not _is_json_media_type(request.headers.get("content-type")):
                    raise HttpProblem(415, "not-supported",
                                      [("Content-Type", "must be application/json")])
            return await handler(_StrictJsonRequest(request.scope, request.receive))

        return strict


router = APIRouter(route_class=_StrictJsonRoute)


def _listed(findings: Iterable[str]) -> str:
    """The contract's labels of ``findings`` as a list in words: ``a, b and c``."""
    inputs = contract_words().inputs
    names = []
    for finding in dict.fromkeys(findings):
        label = inputs[finding].label
        names.append(label if label[1:2].isupper() else label[:1].lower() + label[1:])  # TSH stays
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@functools.cache
def _service_description_text() -> str:
    """The discovery ``description``: what the service reads, from the lists the mapping reads."""
    labs = _listed(analyte.finding for analyte in lab_analytes().values())
    conditions = _listed(finding for finding, _ in CONDITION_FINDINGS)
    medicines = _listed(medicine.finding for medicine in medicine_classes())
    return (
        "Reads the patient's most recent twitching assessment (the twitchrules FHIR "
        f"Questionnaire), recent lab results ({labs}), active {conditions} conditions and "
        f"medicines in current use ({medicines}), and returns a triage level with timeframe, "
        "reasons, a ranked differential, the referral checklist, missing information and "
        "suggested tests. Decision support for clinicians; not a diagnosis."
    )


def _service_description() -> CdsService:
    return CdsService(
        hook=HOOK,
        id=SERVICE_ID,
        title="Muscle twitching assessment",
        description=_service_description_text(),
        prefetch=prefetch_templates(),
        usageRequirements=(
            "Needs the twitchrules assessment Questionnaire (GET /questionnaire) in the EHR."
        ),
        # The override reasons every summary card offers (CDS Hooks 2.0 Card.overrideReasons),
        # declared up front so an EHR can show them and a report can count them.
        extension={OVERRIDE_REASONS_EXTENSION: [
            {"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS]},
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


def _explanations_url(request: Request) -> str:
    config = _config(request)
    if not config.explanation_ttl_seconds:
        return ""
    base = config.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/explanations"


def _answerer(request: Request) -> HookAnswerer:
    answerer: HookAnswerer = request.app.state.answerer
    return answerer


_UNVERIFIED = object()


async def call_claims(request: Request) -> dict[str, Any] | None:
    """The JWT claims the route verified before reading the body (``_StrictJsonRoute``):
    a token is verified once a call, so its ``jti`` is not taken for a replay of itself."""
    claims: dict[str, Any] | None | object = getattr(request.state, "claims", _UNVERIFIED)
    if claims is _UNVERIFIED:
        return await check_jwt(request)
    return claims  # type: ignore[return-value]


async def check_jwt(request: Request) -> dict[str, Any] | None:
    """The verified JWT claims of a call (``None`` when verification is off); 401 otherwise."""
    if not _config(request).jwt_required:
        return None
    verifier: JwtVerifier | None = request.app.state.verifier
    if verifier is None:  # never answer unverified when verification is configured
        raise HttpProblem(503, "transient", [("", "the service is starting")])
    try:
        return await verifier.verify(request.headers.get("authorization"), _url_called(request))
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
                       claims: dict[str, Any] | None = Depends(call_claims)) -> CdsResponse:
    """Answer a patient-view hook call with the assessment's summary card (the route has
    checked the token and the service id before the body was read)."""
    return await _answerer(request).answer(body, service_id, claims, _rules_url(request),
                                           _explanations_url(request))


@router.post("/cds-services/{service_id}/feedback", responses=error_responses(),
             response_model=dict[str, Any], tags=["CDS Hooks"])
async def feedback(service_id: str, body: FeedbackRequest, request: Request,
                   claims: dict[str, Any] | None = Depends(call_claims)) -> dict[str, Any]:
    """Record the clinician's feedback on cards (accepted or overridden) in the audit log."""
    _refuse_unoffered_reasons(body)
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


_OFFERED_REASONS = frozenset(code for code, _ in OVERRIDE_REASONS)


def _refuse_unoffered_reasons(body: FeedbackRequest) -> None:
    """400 naming each override reason that is not one the service's cards offer.

    CDS Hooks 2.0 ("Overridden guidance"): the reason is "selected by the end user" from the
    card's ``overrideReasons``; a code the service never offered would go into the audit log
    as if a clinician had chosen it.
    """
    problems = []
    for number, item in enumerate(body.feedback):
        coding = item.overrideReason.reason if item.overrideReason else None
        if coding is None:
            continue
        if coding.system != OVERRIDE_REASON_SYSTEM or coding.code not in _OFFERED_REASONS:
            problems.append((f"feedback[{number}].overrideReason.reason",
                             f"is not a reason the cards offer (system {OVERRIDE_REASON_SYSTEM}, "
                             f"codes {', '.join(sorted(_OFFERED_REASONS))})"))
    if problems:
        raise HttpProblem(400, "value", problems)


_GONE = [("token", "no such explanation, or its link has expired")]


@router.get("/explanations/{token}", tags=["Explanations"], response_class=HTMLResponse,
            responses={404: {"description": "Unknown or expired link"}})
async def explanation_page(token: str, request: Request) -> HTMLResponse:
    """The HTML explanation a card links to (why, why not, what if); 404 once the link expired."""
    store: SqliteExplanationStore | None = _answerer(request).explanations
    found = store.get(token) if store is not None and len(token) < 100 else None
    loaded: Ruleset = request.app.state.ruleset
    if found is None or found[1] != loaded.sha256:
        raise HttpProblem(404, "not-found", _GONE)
    case = case_from_json(found[0])
    result = evaluate(case, ruleset=loaded)
    page = explanation_html(explain_result(case, result, loaded), result, loaded)
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                       "X-Content-Type-Options": "nosniff"})


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


def _key_url_allowed(config: ServiceConfig, url: str) -> Url | None:
    """A key-set URL (a redirect target) the service may fetch: on the jku list, or jwks_url."""
    allowed = config.jku_allowed(url)
    if allowed is None and config.jwks_url is not None:
        try:
            candidate = normalise_url(url, allow_query=True)
        except UrlRefused:
            return None
        if candidate == normalise_url(config.jwks_url, allow_query=True):
            return candidate
    return allowed


def create_app(config: ServiceConfig | None = None, *, ruleset: Ruleset | None = None,
               jti_store: JtiStore | None = None) -> FastAPI:
    """Return the CDS Hooks service as a FastAPI app configured by ``config``.

    ``jti_store`` replaces the default JWT replay store (a SQLite file at
    ``config.jti_store``), e.g. with one shared by replicas on several hosts.
    """
    config = config or ServiceConfig()
    loaded = ruleset or load_ruleset(config.ruleset)
    file_keys = load_jwks_file(config.jwks_file) if config.jwks_file is not None else None
    if not config.jwt_required:
        log.warning("JWT verification is off: no JWKS or jwt_jku_allow configured")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        audit = AuditLog(config.audit_log, fsync=config.audit_fsync,
                         fsync_interval_ms=config.audit_fsync_interval_ms)
        replay = None
        if config.jwt_required:
            replay = jti_store or SqliteJtiStore(config.jti_store)
        async with httpx.AsyncClient(timeout=config.fhir_timeout_seconds,
                                     follow_redirects=False) as client, \
                httpx.AsyncClient(timeout=config.jwks_timeout_seconds,
                                  follow_redirects=False) as key_client:
            if replay is not None:
                fetcher = JwksFetcher(
                    key_client, allowed=lambda url: _key_url_allowed(config, url),
                    cache_seconds=config.jwks_cache_seconds,
                    min_refetch_seconds=config.jwks_min_refetch_seconds,
                    max_bytes=config.jwks_max_bytes)
                app.state.verifier = JwtVerifier(config, replay=replay, fetcher=fetcher,
                                                 file_keys=file_keys)
            explanations = (SqliteExplanationStore(config.explanation_store,
                                                   config.explanation_ttl_seconds)
                            if config.explanation_ttl_seconds else None)
            app.state.answerer = answerer = HookAnswerer(config, loaded, audit, client,
                                                         explanations)
            answerer.warm_up()
            # Everything loaded so far (ruleset, FHIR models, engine) lives as long as the
            # process: keep it out of the collector's generations so full collections stay short.
            gc.collect()
            gc.freeze()
            yield
            if explanations is not None:
                explanations.close()
        if replay is not None and replay is not jti_store:
            replay.close()
        audit.close()

    # /docs (Swagger UI) and /redoc from assets shipped in fastapi-offline: they work on a
    # closed network, where FastAPI's default pages (assets from a CDN) stay blank.
    app = FastAPIOffline(title="twitchrules CDS Hooks service", version=loaded.version,
                         description="HL7 CDS Hooks 2.0 service for muscle twitching, fed by FHIR R4.",
                         lifespan=lifespan, static_url=DOCS_ASSETS_URL)
    app.state.config = config
    app.state.ruleset = loaded
    app.state.verifier = None
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins,
                           allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"])
    install_handlers(app)
    app.include_router(router)
    return app
