"""The HL7 CDS Hooks 2.0 service of twitchrules, fed by FHIR R4 (install ``twitchrules[service]``).

Run it with ``twitchrules serve``, or build the ASGI app with :func:`create_app`.
"""

from twitchrules.service.app import HOOK, SERVICE_ID, create_app
from twitchrules.service.audit import AuditLog, read_audit_log
from twitchrules.service.config import ConfigError, ServiceConfig

__all__ = [
    "HOOK",
    "SERVICE_ID",
    "AuditLog",
    "ConfigError",
    "ServiceConfig",
    "create_app",
    "read_audit_log",
]
