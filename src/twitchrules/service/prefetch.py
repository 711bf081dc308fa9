"""Prefetch: the FHIR data a hook call needs, from the request's prefetch or the EHR's server.

The discovery response asks the EHR to prefetch six queries. A key the EHR did not fill is
fetched from the request's ``fhirServer`` with its bearer token, but only when that server is
on the configured allow-list (the token is never sent anywhere else); otherwise the call is
answered 412, as CDS Hooks 2.0 says ("Prefetch" / "FHIR Resource Access").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from twitchrules.fhir import QUESTIONNAIRE_URL
from twitchrules.fhir.codes import LOINC, lab_analytes
from twitchrules.service.config import ServiceConfig
from twitchrules.service.models import CdsRequest

MAX_PAGES = 5


def prefetch_templates() -> dict[str, str]:
    """Return the service's prefetch templates (FHIR R4 queries), keyed by prefetch key."""
    lab_codes = ",".join(f"{LOINC}|{code}" for code in lab_analytes())
    patient = "{{context.patientId}}"
    return {
        "patient": f"Patient/{patient}",
        "assessments": f"QuestionnaireResponse?patient={patient}"
        f"&questionnaire={QUESTIONNAIRE_URL}&status=completed,amended",
        "labs": f"Observation?patient={patient}&code={lab_codes}",
        "conditions": f"Condition?patient={patient}&clinical-status=active",
        "medicationRequests": f"MedicationRequest?patient={patient}&status=active",
        "medicationStatements": f"MedicationStatement?patient={patient}&status=active",
    }


class PrefetchUnavailable(Exception):
    """Data the service needs is neither prefetched nor fetchable; answer 412."""

    def __init__(self, keys: list[str], reason: str) -> None:
        self.keys = keys
        self.reason = reason
        super().__init__(f"{reason}: {', '.join(keys)}")


def _query(template: str, request: CdsRequest) -> str:
    return template.replace("{{context.patientId}}", request.context.patientId)


def _same_server(url: str, base: str) -> bool:
    one, two = urlsplit(url), urlsplit(base)
    return (one.scheme, one.netloc.lower()) == (two.scheme, two.netloc.lower())


async def _fetch(
    client: httpx.AsyncClient, base: str, query: str, headers: dict[str, str]
) -> dict[str, Any]:
    url = urljoin(base.rstrip("/") + "/", query)
    response = await client.get(url, headers=headers)
    response.raise_for_status()
    body = response.json()
    # Follow a searchset's next links, on the same server only: the token goes nowhere else.
    entries = list(body.get("entry", [])) if body.get("resourceType") == "Bundle" else None
    pages = 1
    while entries is not None and pages < MAX_PAGES:
        next_url = next(
            (link.get("url") for link in body.get("link", []) if link.get("relation") == "next"),
            None,
        )
        if not next_url or not _same_server(next_url, base):
            break
        response = await client.get(next_url, headers=headers)
        response.raise_for_status()
        body = response.json()
        entries.extend(body.get("entry", []))
        pages += 1
    if entries is not None:
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    whole: dict[str, Any] = body
    return whole


async def resolve_prefetch(
    request: CdsRequest, config: ServiceConfig, client: httpx.AsyncClient
) -> dict[str, Any]:
    """Return each prefetch key's data, fetching what the EHR did not send.

    Raises:
        PrefetchUnavailable: keys missing and no allowed ``fhirServer``, or fetching failed.
    """
    templates = prefetch_templates()
    given = request.prefetch or {}
    data = {key: given[key] for key in templates if given.get(key) is not None}
    missing = [key for key in templates if key not in data]
    if not missing:
        return data
    server = request.fhirServer
    if server is None:
        raise PrefetchUnavailable(missing, "prefetch keys missing and no fhirServer given")
    if not config.fhir_server_allowed(server):
        raise PrefetchUnavailable(missing, "prefetch keys missing and fhirServer is not allowed")
    headers = {"Accept": "application/fhir+json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    for key in missing:
        try:
            data[key] = await _fetch(client, server, _query(templates[key], request), headers)
        except (httpx.HTTPError, ValueError) as exc:
            raise PrefetchUnavailable([key], f"fetching from fhirServer failed "
                                             f"({type(exc).__name__})") from None
    return data
