"""Prefetch: the FHIR data a hook call needs, from the request's prefetch or the EHR's server.

The discovery response asks the EHR to prefetch six queries. CDS Hooks 2.0, "Providing FHIR
Resources to a CDS Service" > "Prefetch Template", gives each prefetch value one meaning:

- a key left out: the client chose not to, or could not, fill it;
- ``null``: "the CDS Client has no data to populate" it, so the search found nothing (a read
  found no resource). That is data, not a gap, and is never fetched again: no labs are
  unknown labs, never normal ones;
- an OperationOutcome, or a Bundle holding one with an ``error`` or ``fatal`` issue: the
  client's prefetch failed ("OperationOutcome(s) SHOULD be used to communicate those errors
  ... CDS Services SHOULD check any prefetched data for the existence of
  OperationOutcomes"), so the key is treated as left out;
- a Bundle with a ``next`` link: the client paginated it ("a CDS Client MAY paginate
  prefetch results"), so the other pages are fetched.

A key to fetch is fetched from the request's ``fhirServer`` with its bearer token, but only
when that server is on the configured allow-list (the token is never sent anywhere else);
otherwise the call is answered 412 naming the key, as the same section says.

A search is read to its last page or not at all: one with more than ``MAX_PAGES`` pages is
412, never evaluated on its first pages as if they were all there.

Every URL fetched (each query, each ``next`` link) is normalised and must lie under the
request's normalised ``fhirServer`` (see ``service.urls``). What the server answers is read
with a size limit by the strict JSON reader and must be a FHIR resource whose resources
parse; anything else (an array, a string, a body nested 200,000 deep, ``link: ["x"]``, an
invalid resource) makes the call 412 naming the key, never a 500.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import httpx

from twitchrules.case.reading import JsonProblem, parse_json
from twitchrules.fhir import QUESTIONNAIRE_URL, FhirResourceError
from twitchrules.fhir.codes import LOINC, lab_analytes
from twitchrules.fhir.mapping import READ_TYPES, parse_resource, resources_in
from twitchrules.service.config import ServiceConfig
from twitchrules.service.models import CdsRequest
from twitchrules.service.urls import Url, UrlRefused, is_within, normalise_url

MAX_PAGES = 5
"""The most pages of one search the service reads; a search with more is refused (412)."""
NOTICE_SEVERITIES = frozenset({"warning", "information"})
"""OperationOutcome issue severities that leave a search's results usable (FHIR R4
IssueSeverity); the others, ``error`` and ``fatal``, mean the data is not all there."""
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


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
    """Data the service needs is neither prefetched nor fetchable; answer 412.

    ``reasons`` holds, per prefetch key, why its data cannot be had (no clinical values).
    """

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in reasons.items()))

    @property
    def keys(self) -> list[str]:
        """The prefetch keys whose data cannot be had."""
        return list(self.reasons)


def prefetch_failure(value: dict[str, Any]) -> str | None:
    """Why a prefetch value (or a FHIR server's answer) reports a failed fetch, or None.

    An OperationOutcome in place of the data is a failure whatever its issues. In a Bundle
    an OperationOutcome entry (FHIR R4 ``Bundle.entry.search.mode`` ``outcome``: "a message
    about the search") is a failure when an issue is ``error`` or ``fatal``, or its severity
    cannot be read; ``warning`` and ``information`` issues leave the other entries usable.
    """
    if value.get("resourceType") == "OperationOutcome":
        return "is an OperationOutcome (a failed fetch)"
    if value.get("resourceType") != "Bundle" or not isinstance(value.get("entry"), list):
        return None
    for entry in value["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Bundle" and prefetch_failure(resource) is not None:
            return "holds a Bundle with an OperationOutcome reporting an error"
        if resource.get("resourceType") == "OperationOutcome" and not _only_warnings(resource):
            return "holds an OperationOutcome reporting an error"
    return None


def _only_warnings(outcome: dict[str, Any]) -> bool:
    issues = outcome.get("issue")
    return isinstance(issues, list) and bool(issues) and all(
        isinstance(issue, dict) and issue.get("severity") in NOTICE_SEVERITIES
        for issue in issues)


def _has_next_page(value: dict[str, Any]) -> bool:
    links = value.get("link") if value.get("resourceType") == "Bundle" else None
    return isinstance(links, list) and any(
        isinstance(link, dict) and link.get("relation") == "next" for link in links)


class _Unreadable(Exception):
    """What the FHIR server sent cannot be used; the message says why (no clinical values)."""


def _query(template: str, request: CdsRequest) -> str:
    return template.replace("{{context.patientId}}", request.context.patientId)


def _checked(url: str, base: Url) -> Url:
    """``url`` normalised, if it lies under ``base``; the query is kept (searches need it)."""
    try:
        candidate = normalise_url(url, allow_query=True)
    except UrlRefused as refused:
        raise _Unreadable(f"a URL to fetch {refused}") from None
    if not is_within(candidate, base):
        raise _Unreadable("a URL to fetch lies outside the allowed fhirServer")
    return candidate


class _Reader:
    """Gets one prefetch key's data from the FHIR server, checking every answer."""

    def __init__(self, client: httpx.AsyncClient, base: Url, headers: dict[str, str],
                 max_bytes: int) -> None:
        self.client = client
        self.base = base
        self.headers = headers
        self.max_bytes = max_bytes

    async def get(self, url: Url) -> dict[str, Any]:
        async with self.client.stream("GET", url.text(), headers=self.headers) as response:
            if response.status_code != 200:
                raise _Unreadable(f"the FHIR server answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise _Unreadable(f"the FHIR server's answer is larger than {self.max_bytes} bytes")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _Unreadable(f"the FHIR server's answer is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
        try:
            body = parse_json(b"".join(chunks))
        except JsonProblem as problem:
            raise _Unreadable(f"the FHIR server's answer cannot be read: {problem}") from None
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise _Unreadable("the FHIR server's answer is not a FHIR resource")
        return body

    def next_link(self, bundle: dict[str, Any]) -> Url | None:
        links = bundle.get("link", [])
        if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
            raise _Unreadable("the Bundle's link is not a list of links")
        for link in links:
            if link.get("relation") == "next":
                url = link.get("url")
                if not isinstance(url, str):
                    raise _Unreadable("the Bundle's next link has no url")
                return _checked(url, self.base)
        return None

    async def fetch(self, query: str) -> dict[str, Any]:
        """The answer to ``query`` (relative to the base), with every page of a search."""
        body = await self.get(_checked(urljoin(self.base.text().rstrip("/") + "/", query), self.base))
        if body.get("resourceType") != "Bundle":
            return body
        return await self.complete(body)

    async def complete(self, first_page: dict[str, Any]) -> dict[str, Any]:
        """A searchset of ``first_page``'s entries and those of every page its ``next`` links give."""
        body, entries, pages = first_page, first_page.get("entry", []), 1
        if not isinstance(entries, list):
            raise _Unreadable("the Bundle's entry is not a list")
        entries = list(entries)
        while (next_url := self.next_link(body)) is not None:
            if pages == MAX_PAGES:
                # Evaluating on the first pages could miss the newest result (a search need
                # not be sorted): the call is refused rather than answered from part of it.
                raise _Unreadable(f"the search has more than {MAX_PAGES} pages, the most the "
                                  f"service reads; it is not evaluated on part of them")
            body = await self.get(next_url)
            if body.get("resourceType") != "Bundle" or not isinstance(body.get("entry", []), list):
                raise _Unreadable("a next page is not a Bundle")
            entries.extend(body.get("entry", []))
            pages += 1
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _check_resources(data: dict[str, Any]) -> None:
    """Refuse fetched data whose resources do not parse (the server's fault, not the EHR's)."""
    try:
        for resource in resources_in(data, shape_checked=True):  # data came from parse_json
            if isinstance(resource.get("resourceType"), str) and resource["resourceType"] in READ_TYPES:
                parse_resource(resource, shape_checked=True)
    except FhirResourceError as error:
        raise _Unreadable(f"the FHIR server sent a resource that is not valid FHIR "
                          f"({error.resource}.{error.field})") from None


async def resolve_prefetch(
    request: CdsRequest, config: ServiceConfig, client: httpx.AsyncClient
) -> dict[str, Any]:
    """Return each prefetch key's data (None if prefetched as null), fetching the rest.

    Raises:
        PrefetchUnavailable: keys left out, failed (an OperationOutcome) or paginated, and
            no allowed ``fhirServer``; or
            fetching failed, or what the server sent cannot be read or has more than
            ``MAX_PAGES`` pages.
    """
    templates = prefetch_templates()
    given = request.prefetch or {}
    data: dict[str, Any] = {}
    unfilled: dict[str, str] = {}  # key -> why the prefetch does not give its data
    paged: list[str] = []
    for key in templates:
        value = given.get(key)
        if key not in given:
            unfilled[key] = "prefetch keys missing"
        elif value is None:
            data[key] = None  # the client has no data for it: an empty search, not a failure
        elif (failure := prefetch_failure(value)) is not None:
            unfilled[key] = f"the prefetch {failure}"
        else:
            data[key] = value
            if _has_next_page(value):
                paged.append(key)
    if not unfilled and not paged:
        return data
    pending = {**unfilled, **{key: "the prefetched Bundle has a next page" for key in paged}}
    server = request.fhirServer
    if server is None:
        raise PrefetchUnavailable({key: f"{why} and no fhirServer given"
                                   for key, why in pending.items()})
    base = config.allowed_fhir_server(server)
    if base is None:
        raise PrefetchUnavailable({key: f"{why} and fhirServer is not allowed"
                                   for key, why in pending.items()})
    if unfilled and not _FHIR_ID.match(request.context.patientId):
        raise PrefetchUnavailable({key: "context.patientId is not a FHIR id, so it cannot be "
                                        "fetched" for key in unfilled})
    headers = {"Accept": "application/fhir+json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    reader = _Reader(client, base, headers, config.fhir_max_response_bytes)
    for key in pending:
        try:
            if key in unfilled:
                fetched = await reader.fetch(_query(templates[key], request))
                if (failure := prefetch_failure(fetched)) is not None:
                    raise _Unreadable(f"the FHIR server's answer {failure}")
                _check_resources(fetched)
            else:
                fetched = await reader.complete(data[key])
                # Only the fetched pages: the prefetched one is the client's, checked as such.
                _check_resources({"resourceType": "Bundle",
                                  "entry": fetched["entry"][len(data[key].get("entry", [])):]})
            data[key] = fetched
        except httpx.HTTPError as exc:
            raise PrefetchUnavailable({key: f"fetching from fhirServer failed "
                                            f"({type(exc).__name__})"}) from None
        except _Unreadable as exc:
            raise PrefetchUnavailable({key: str(exc)}) from None
    return data
