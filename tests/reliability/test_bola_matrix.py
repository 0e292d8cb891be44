"""A BOLA matrix generated from the gateway's OpenAPI: every operation that takes an id in its path.

Tree: manufacturer > distributors D and E; D > dealers A and B; E > dealer C. One record per
resource type is made as dealer A (and, for what a parent can own, as D: bulletins only a
distributor or the manufacturer sends). Then every operation with a path id is called with the
key of A's sibling B (404 on all of it), of A's parent D (reads answer 200, writes are not
refused as unknown), with A's key on D's records (A is D's child: 404, except that a parent's
surveys and bulletins serve the dealers below it), and with the keys of D's sibling E and of
E's dealer C on D's records (404 on all of it). A recall is the manufacturer's: its progress is
asked for the record owner's org (`org_code`), and its VIN import is the manufacturer's alone
(403 for every other caller). An operation the matrix does not know fails the test: add its
record, or an EXCLUDED entry with the reason.
"""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_survey_flow import csi_answers, vin
from tests.e2e.test_survey_page import customer, invite, published_survey
from tests.support.polling import created, eventually
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

METHODS = ("get", "post", "put", "patch", "delete")
# Operations whose path id is a capability, not an org-owned record.
EXCLUDED = {
    ("get", "/v1/public/surveys/{token}"): "the token is the credential (no org key involved)",
    ("post", "/v1/public/surveys/{token}/responses"): "the token is the credential (no org key involved)",
    ("get", "/v1/evaluation-schemes/{code}"): "the manufacturer's scheme, read by its whole network by design "
                                              "(tests/kpi/test_evaluations.py); no dealer owns one",
    ("put", "/v1/evaluation-schemes/{code}"): "the manufacturer's alone: any other caller is a 403 (tests/kpi/test_evaluations.py)",
    ("post", "/v1/evaluations/{scheme}/{period}/publish"): "the manufacturer's alone: any other caller is a 403; a "
                                                           "sibling's evaluation item is never shown (tests/kpi/test_evaluations.py)",
    ("put", "/v1/vehicles/{vin}"): "writes the caller's own dealer's file of the VIN (each dealer keeps its own file "
                                   "of a car), never another's; the dealer-qualified /v1/vehicles/by-vin/... is in the matrix",
}
# Valid bodies, so a refusal cannot hide behind a 422 (a function of the record ids where the body names them).
BODIES: dict[tuple[str, str], dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]]] = {
    ("patch", "/v1/complaints/{complaint_id}"): {"assignee": "bola"},
    ("post", "/v1/complaints/{complaint_id}/transitions"): {"to": "acknowledged", "note": "bola"},
    ("post", "/v1/complaints/{complaint_id}/comments"): {"text": "bola"},
    ("post", "/v1/complaints/{complaint_id}/escalate"): {"reason": "bola"},
    ("put", "/v1/complaints/{complaint_id}/resolution"): {"summary": "bola"},
    ("post", "/v1/tech-requests/{tech_request_id}/answers"): {"body": "bola"},
    ("post", "/v1/tech-requests/{tech_request_id}/escalate"): {"reason": "bola"},
    ("patch", "/v1/customers/{customer_id}"): {"city": "Bola"},
    ("patch", "/v1/service-visits/{visit_id}"): {"advisor": "SA-BOLA"},
    ("patch", "/v1/staff/{staff_id}"): {"name": "Bola"},
    ("patch", "/v1/users/{user_id}"): {"staff_code": "CR01"},
    ("patch", "/v1/prospects/{prospect_id}"): {"level": "A"},
    ("patch", "/v1/appointments/{appointment_id}"): {"service_type": "repair"},
    ("post", "/v1/appointments/{appointment_id}/status"): {"to": "arrived"},
    ("post", "/v1/follow-ups/{followup_id}/complete"): {"outcome": "reached", "note": "bola"},
    ("post", "/v1/follow-ups/{followup_id}/assign"): {"assignee": "bola"},
    ("post", "/v1/follow-ups/{followup_id}/attempts"): {"reached": False, "channel": "phone", "note": "bola"},
    ("put", "/v1/dealers/{code}/desk-settings"): {"maintenance_followups": True, "max_attempts": 4},
    ("put", "/v1/orgs/{code}/networks"): {"cidrs": ["192.0.2.0/28"]},
    ("patch", "/v1/surveys/{survey_id}"): {"title": {"en": "Bola", "zh-CN": "Bola"}},
    ("post", "/v1/survey-responses/{response_id}/review"): {"decision": "valid", "note": "bola"},
    ("patch", "/v1/webhooks/{webhook_id}"): {"event_types": ["complaint.opened"]},
    ("put", "/v1/customers/by-external-id/{dealer_code}/{external_id}"): {"name": "Bola"},
    ("put", "/v1/vehicles/by-vin/{dealer_code}/{vin}"): lambda ids: {"model": "Bola", "owner_customer_id": ids["customer_id"]},
    ("post", "/v1/improvement-plans/{plan_id}/transitions"): {"to": "do"},
    ("put", "/v1/service-visits/by-ro/{dealer_code}/{ro_number}"): lambda ids: {
        "vin": ids["vin"], "customer_id": ids["customer_id"], "visit_type": "repair", "opened_at": ids["opened_at"],
        "closed_at": ids["closed_at"], "advisor": "SA-BOLA"},
}
# Query parameters that name whose part of a shared record is asked for: the record owner's org.
QUERIES: dict[tuple[str, str], Callable[[dict[str, str]], dict[str, str]]] = {
    ("get", "/v1/recalls/{recall_code}/progress"): lambda ids: {"org_code": ids["code"]},
}
# Bodies that are files, not JSON: (content, media type).
FILES = {("post", "/v1/recalls/{recall_code}/vins/import"): (f"vin\n{vin()}\n".encode(), "text/csv")}
# The manufacturer's alone (a recall's VINs): every other caller, whatever its reach, is a 403.
MANUFACTURER_ONLY = {("post", "/v1/recalls/{recall_code}/vins/import")}
# Parent-owned records a child may act on by design, and the answer it gets: a parent's surveys
# serve the dealers below it (shared.rls ancestors_read, survey repository); a bulletin is
# addressed to every dealer below its sender, which acknowledges it for itself, while who has
# read it is the sender's (and those above it) to see.
CHILD_MAY = {("get", "/v1/surveys/{survey_id}"): 200, ("get", "/v1/surveys/{survey_id}/versions/{number}"): 200,
             ("get", "/v1/bulletins/{bulletin_id}"): 200, ("post", "/v1/bulletins/{bulletin_id}/ack"): 201,
             ("get", "/v1/bulletins/{bulletin_id}/acks"): 403}
# The parent's destructive calls run last, so the others still find the record.
LAST = ("/erase", "delete")




def operations_with_path_ids(network: Network) -> list[tuple[str, str]]:
    schema = httpx.get(f"{network.url}/openapi.json", timeout=30).json()
    return sorted((method, path) for path, item in schema["paths"].items() if "{" in path
                  for method in item if method in METHODS)


def dealer_records(network: Network, a: Org) -> dict[str, str]:
    person = customer(a, a.code)
    member = created(a.client.post("/v1/staff", json={"dealer_code": a.code, "code": "SA-BOLA", "name": "李强",
                                                      "role": "service_advisor"}))
    on_staff(a, "CR01", "cr_agent")
    car = vin()
    created(a.client.post("/v1/vehicles", json={"vin": car, "model": "Lumen S", "model_year": 2025,
                                                "owner_customer_id": person["id"]}))
    opened = datetime.now(UTC) - timedelta(hours=3)
    visit = created(a.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": car, "customer_id": person["id"], "dealer_code": a.code,
        "visit_type": "repair", "opened_at": opened.isoformat(), "closed_at": (opened + timedelta(hours=2)).isoformat(),
        "symptom_codes": ["BRK01"], "op_codes": ["OP100"], "mileage_km": 1000, "amount_minor": 100, "advisor": "SA-BOLA"}))
    prospect = created(a.client.post("/v1/prospects", json={"dealer_code": a.code, "name": "王芳", "level": "H"}))
    interaction = created(a.client.post("/v1/interactions", json={
        "dealer_code": a.code, "customer_id": person["id"], "channel": "phone", "direction": "inbound",
        "reason": "inquiry", "summary": "BOLA matrix", "agent": "CR01", "started_at": opened.isoformat()}))
    appointment = created(a.client.post("/v1/appointments", json={
        "dealer_code": a.code, "customer_id": person["id"], "vin": car, "slot_at": (opened + timedelta(days=3)).isoformat(),
        "service_type": "maintenance"}))
    survey_id = published_survey(a, {"template": "csi", "code": f"csi_{uuid.uuid4().hex[:8]}"})
    invitation = invite(a, survey_id)
    response = created(network.client(None).post(f"/v1/public/surveys/{invitation['token']}/responses",
                                                  json={"answers": csi_answers(9, nps=9)}))
    complaint = created(a.client.post("/v1/complaints", json={
        "dealer_code": a.code, "customer_id": person["id"], "channel": "hotline", "category": "other",
        "priority": "P3", "description": "BOLA matrix"}))
    tech_request = created(a.client.post("/v1/tech-requests", json={
        "dealer_code": a.code, "vin": car, "symptom_codes": ["BRK01"], "priority": "P3", "description": "BOLA matrix"}))
    recall = created(network.manufacturer.client.post("/v1/recalls", json={
        "code": f"RC-BOLA-{uuid.uuid4().hex[:8]}", "title": "BOLA matrix", "remedy_op_code": "OPBOLA", "vins": [car]}))

    # Launched, so the parent's reads of its results find them (the launch again is a no-op).
    campaign = created(a.client.post("/v1/campaigns", json={"name": "BOLA", "kind": "care", "channel": "sms",
                                                            "message": {"en": "BOLA"}}))
    assert a.client.post(f"/v1/campaigns/{campaign['id']}/launch").status_code == 200

    def followup() -> str | None:
        items = a.client.get("/v1/follow-ups", params={"dealer_code": a.code}).json()["items"]
        return next((i["id"] for i in items if i.get("prospect_id") == prospect["id"]), None)

    return {"customer_id": person["id"], "vin": car, "visit_id": visit["id"], "prospect_id": prospect["id"],
            "interaction_id": interaction["id"], "dealer_code": a.code, "external_id": person["external_id"],
            "ro_number": visit["ro_number"], "appointment_id": appointment["id"],
            "opened_at": visit["opened_at"], "closed_at": visit["closed_at"],
            "followup_id": eventually(followup, "the prospect's follow-up"), "survey_id": survey_id, "number": "1",
            "invitation_id": invitation["id"], "response_id": response["id"], "complaint_id": complaint["id"],
            "staff_id": member["id"], "plan_id": improvement_plan(a, "SA-BOLA"), "index": "0",
            "campaign_id": campaign["id"], "tech_request_id": tech_request["id"], "recall_code": recall["code"],
            **org_records(network, a)}


def improvement_plan(org: Org, owner: str) -> str:
    """A plan of `org` with one action (`owner`: a staff code of a dealer, free text above one)."""
    return created(org.client.post("/v1/improvement-plans", json={
        "org_code": org.code, "kpi": "csi", "period": "2026-01", "baseline": 80.0, "target": 85.0,
        "recheck_period": "2026-02", "cause": "BOLA matrix", "source": {"kind": "kpi_gap", "ref": "csi"},
        "actions": [{"description": "BOLA matrix", "owner": owner, "due": "2099-01-01"}]}))["id"]


def org_records(network: Network, org: Org) -> dict[str, str]:
    """What an org of any kind owns at the gateway: itself, a key, a webhook, an OAuth client, a user."""
    key = created(network.manufacturer.client.post("/v1/api-keys", json={"org_code": org.code, "name": "bola",
                                                                         "scopes": ["kpi:read"]}))
    hook = created(org.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/bola", "org_code": org.code,
                                                           "event_types": ["complaint.opened"]}))
    oauth_client = created(network.manufacturer.client.post("/v1/oauth/clients", json={
        "org_code": org.code, "name": "bola", "scopes": ["kpi:read"]}))
    user = created(network.manufacturer.client.post("/v1/users", json={
        "username": f"bola-{uuid.uuid4().hex[:10]}", "password": uuid.uuid4().hex, "org_code": org.code}))
    return {"code": org.code, "key_id": key["id"], "webhook_id": hook["id"], "client_id": oauth_client["client_id"],
            "user_id": user["id"]}


def parent_records(network: Network, d: Org, recall_code: str) -> dict[str, str]:
    campaign = created(d.client.post("/v1/campaigns", json={"name": "BOLA", "kind": "care", "channel": "sms",
                                                            "message": {"en": "BOLA"}}))
    bulletin = created(d.client.post("/v1/bulletins", json={"title": "BOLA matrix", "body": "BOLA matrix"}))
    return {"survey_id": published_survey(d, {"template": "csi", "code": f"csi_{uuid.uuid4().hex[:8]}"}),
            "number": "1", "plan_id": improvement_plan(d, "Regional quality manager"), "index": "0",
            "campaign_id": campaign["id"], "bulletin_id": bulletin["id"], "recall_code": recall_code,
            **org_records(network, d)}


class Matrix:
    def __init__(self, owner: Org) -> None:
        self.owner = owner
        self.rows: list[str] = []
        self.failures: list[str] = []

    def call(self, caller: Org, who: str, method: str, path: str, ids: dict[str, str], owner: Org | None = None) -> int:
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], path)
        headers = {}
        if method in ("patch", "put", "post"):
            # The record's current ETag, read by its owner: only the caller's reach decides the answer.
            base = re.match(r"^(.*?\{\w+\})", path)[1]
            etag = (owner or self.owner).client.get(re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], base)).headers.get("etag")
            if etag:
                headers["If-Match"] = etag
        body = BODIES.get((method, path))
        body = body(ids) if callable(body) else body
        params = QUERIES[(method, path)](ids) if (method, path) in QUERIES else None
        if (method, path) in FILES:
            content, media_type = FILES[(method, path)]
            status = caller.client.request(method.upper(), url, content=content, params=params,
                                           headers={**headers, "Content-Type": media_type}).status_code
        else:
            status = caller.client.request(method.upper(), url, json=body, params=params, headers=headers).status_code
        self.rows.append(f"{who:8} {method.upper():6} {path:55} {status}")
        return status

    def expect(self, ok: bool, who: str, method: str, path: str, status: int, rule: str) -> None:
        if not ok:
            self.failures.append(f"{who} {method.upper()} {path}: {status}, expected {rule}")


def ids_of(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


def test_only_the_expected_callers_reach_each_record(network: Network, artifacts_dir: Path) -> None:
    d, e = network.org("distributor"), network.org("distributor")
    a, b, c = network.org("dealer", d), network.org("dealer", d), network.org("dealer", e)
    mine = dealer_records(network, a)
    parents = parent_records(network, d, mine["recall_code"])
    operations = operations_with_path_ids(network)
    unknown = [op for op in operations if op not in EXCLUDED and not ids_of(op[1]) <= set(mine)
               and not ids_of(op[1]) <= set(parents)]
    assert not unknown, f"operations the matrix has no record for: {unknown}"
    tested = [op for op in operations if op not in EXCLUDED]
    of_a = [op for op in tested if ids_of(op[1]) <= set(mine)]
    of_d = [op for op in tested if ids_of(op[1]) <= set(parents)]
    matrix = Matrix(a)

    def expect(who: str, method: str, path: str, status: int, ok: bool, rule: str) -> None:
        if (method, path) in MANUFACTURER_ONLY:
            ok, rule = status == 403, "403 (the manufacturer's alone)"
        matrix.expect(ok, who, method, path, status, rule)

    for method, path in of_a:
        status = matrix.call(b, "sibling", method, path, mine)
        expect("sibling", method, path, status, status == 404, "404")
    for method, path in of_d:
        status = matrix.call(a, "child", method, path, parents, owner=d)
        if (method, path) in CHILD_MAY:
            wanted = CHILD_MAY[(method, path)]
            expect("child", method, path, status, status == wanted, f"{wanted} (a parent's record serving its dealers)")
        else:
            expect("child", method, path, status, status in (403, 404), "404 (or 403)")
        for who, cousin in (("cousin-d", e), ("cousin", c)):
            status = matrix.call(cousin, who, method, path, parents, owner=d)
            expect(who, method, path, status, status == 404, "404")
    for method, path in sorted(of_a, key=lambda op: any(mark in op[1] or mark == op[0] for mark in LAST)):
        status = matrix.call(d, "parent", method, path, mine)
        if method == "get":
            expect("parent", method, path, status, status == 200, "200")
        else:
            expect("parent", method, path, status, status != 404 and status < 500, "not 404, not 5xx")
    # What only an org above the dealers owns (a bulletin): the org above its owner reads it too.
    for method, path in (op for op in of_d if op not in of_a):
        status = matrix.call(network.manufacturer, "parent", method, path, parents, owner=d)
        if method == "get":
            expect("parent", method, path, status, status == 200, "200")
        else:
            expect("parent", method, path, status, status != 404 and status < 500, "not 404, not 5xx")
    (artifacts_dir / "bola-matrix.txt").write_text("\n".join(matrix.rows) + "\n")
    assert len(tested) >= 25
    assert not matrix.failures, "\n".join(matrix.failures)
