"""Problems: every error the service answers, as a FHIR OperationOutcome with its status.

``HttpProblem`` is raised inside endpoints; ``install_handlers`` makes FastAPI answer it,
request validation errors (400), unknown paths and methods, and anything unexpected (500,
logged by type only: messages of arbitrary errors may quote clinical values).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from twitchrules.service.models import OperationOutcome, operation_outcome

FHIR_JSON = "application/fhir+json"
log = logging.getLogger("twitchrules.service")

ERROR_STATUSES = {
    400: "Malformed request",
    401: "JWT missing or invalid",
    404: "Unknown service",
    412: "Needed FHIR data is neither prefetched nor fetchable",
    413: "Request body too large",
    415: "Request body is not JSON (Content-Type must be application/json)",
}
"""The error statuses an endpoint may answer, with what each means (for the OpenAPI)."""


class HttpProblem(StarletteHTTPException):
    """An error answered with an OperationOutcome (raised inside endpoints or body parsing)."""

    def __init__(self, status: int, code: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(status_code=status)
        self.status = status
        self.code = code
        self.problems = problems


def outcome_response(status: int, code: str, problems: list[tuple[str, str]]) -> JSONResponse:
    """An OperationOutcome response with ``status``."""
    return JSONResponse(operation_outcome(code, problems), status_code=status,
                        media_type=FHIR_JSON)


def error_responses() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of the error answers."""
    outcome_schema = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    return {status: {"model": OperationOutcome, "description": text,
                     "content": {FHIR_JSON: outcome_schema}}
            for status, text in ERROR_STATUSES.items()}


def install_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as an OperationOutcome."""

    @app.exception_handler(HttpProblem)
    async def _problem(_: Request, exc: HttpProblem) -> JSONResponse:
        return outcome_response(exc.status, exc.code, exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"] if part != "body")
            problems.append((location or "body", error["msg"]))
        return outcome_response(400, "invalid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        return outcome_response(exc.status_code, code, [("", str(exc.detail))])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path)
        return outcome_response(500, "exception", [("", "internal error")])
