"""verify --audit: a case file's service audit entries are found by canonical sha256 and re-checked."""

from __future__ import annotations

import json
from pathlib import Path

from twitchrules import load_ruleset
from twitchrules.service import SERVICE_ID

from ..test_audit import cli
from .hookdata import case_request
from .test_service import RED_FLAG_CASE


def test_an_audit_entry_is_found_and_reproduced(serve, client, tmp_path: Path) -> None:
    """After a real hook call, verify --audit finds the case's entry and reproduces triage and rules."""
    server = serve(ruleset=load_ruleset())
    body = case_request(RED_FLAG_CASE, patient_id="p9")
    assert client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=body).status_code == 200
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(RED_FLAG_CASE, indent=1), encoding="utf-8")
    code, out, err = cli("verify", "--audit", str(server.audit_log), str(case_file))
    assert code == 0, out + err
    assert f"hookInstance {body['hookInstance']}): REPRODUCED" in out

    other = tmp_path / "other.json"
    other.write_text(json.dumps({**RED_FLAG_CASE, "assessed_on": "2026-11-21"}), encoding="utf-8")
    code, out, _ = cli("verify", "--audit", str(server.audit_log), str(other))
    assert code == 1 and out.startswith("NOT FOUND")


def test_a_tampered_audit_entry_differs(serve, client, tmp_path: Path) -> None:
    """An entry whose recorded triage or fired rules the ruleset does not give is exit 1, by field."""
    server = serve(ruleset=load_ruleset())
    client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(RED_FLAG_CASE, patient_id="p9"))
    records = [json.loads(line) for line in server.audit_log.read_text().splitlines() if line.strip()]
    for record in records:
        if record.get("event") == "call":
            record["triage"] = "self-care"
            record["fired_rules"] = record["fired_rules"][1:]
    tampered = tmp_path / "audit.jsonl"
    tampered.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(RED_FLAG_CASE), encoding="utf-8")
    code, out, _ = cli("verify", "--audit", str(tampered), str(case_file))
    assert code == 1
    assert "DIFFERS" in out and "triage: recorded 'self-care', now 'prompt'" in out
    assert "fired_rules: only recorded [], only now [" in out
