"""The HL7 CDS Hooks 2.0 service of twitchrules, fed by FHIR R4 (install the ``service`` extra).

Run it with ``twitchrules serve``, or build the ASGI app with :func:`create_app`. ``app``
holds the routes; ``hook`` answers one call; ``cards`` turns a result into a card;
``prefetch`` gets the FHIR data; ``urls`` normalises and checks every URL fetched; ``auth``
checks JWTs, with keys from ``jwks`` (``jku`` and ``jwks_url`` fetching) and replays caught
by ``replay``; ``audit`` writes the audit log; ``server`` runs uvicorn with connection
limits and worker processes; ``problems`` the error answers; ``config``, ``limits`` and
``models`` the settings, request limits and wire models.

May import: anything below it (``pipeline``, ``conclusions``, ``fhir``, ``ruleset``). It
never builds facts or reads rules itself.
"""

from twitchrules.service.app import SERVICE_ID, create_app
from twitchrules.service.audit import AuditLog, read_audit_log
from twitchrules.service.config import ConfigError, ServiceConfig
from twitchrules.service.hook import HOOK

__all__ = [
    "HOOK",
    "SERVICE_ID",
    "AuditLog",
    "ConfigError",
    "ServiceConfig",
    "create_app",
    "read_audit_log",
]
