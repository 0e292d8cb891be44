"""A foreign-reference matrix generated from the gateway's OpenAPI: every body field of every
write that names a customer, vehicle, visit, response, case or organisation.

Fields are found by name in the merged OpenAPI (request bodies, nested objects and array
items too), so a new endpoint joins by itself: an operation with such a field that the
matrix has no valid body for fails the test (add it to BODIES, or the field to NOT_REFERENCES
with the reason). For each field, a valid body is sent once (it must succeed, so a refusal
cannot hide behind another error), then the field alone is replaced by a sibling's and a
cousin's existing record: API.md wants a 422 `errors: [{field, message: "unknown <kind>"}]`
and nothing stored. World: tests/support/foreign_world.py (A and B siblings, C a cousin).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_survey_flow import vin
from tests.e2e.test_survey_page import customer
from tests.support.foreign_world import World, build_world
from tests.support.polling import eventually
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

WRITES = ("post", "put", "patch")
# Field name -> the kind API.md's `unknown <kind>` names.
KINDS = {
    "customer_id": "customer", "owner_customer_id": "customer", "vin": "vehicle", "ro_number": "visit",
    "visit_id": "visit", "survey_response_id": "response", "response_id": "response", "complaint_id": "case",
    "case_id": "case", "dealer_code": "dealer", "org_code": "organisation", "parent_code": "organisation",
    "appointment_id": "appointment",
    # A repeat visit's first fix: one of the same VIN's visits at any dealer (a sibling's RO of another car is unknown).
    "repeat_of_ro": "visit",
    # Staff codes of the record's dealer (API.md, Staff).
    "sales_consultant": "staff member", "advisor": "staff member", "technician": "staff member", "agent": "staff member",
    "owner": "staff member",  # an improvement plan's action on a dealer's plan
    "signal_id": "quality signal",  # a bulletin answers a signal of its sender's subtree
    "vins": "vehicle",
}
# Fields with a reference's name that identify the record being written, or are only quoted.
NOT_REFERENCES = {
    ("post", "/v1/vehicles", "vin"): "the new vehicle file's own key (one car is on file at every dealer it visits)",
    ("post", "/v1/deliveries", "vin"): "the car sold; the delivery opens the dealer's file of it",
    ("post", "/v1/service-visits", "vin"): "the car serviced; a visit opens the dealer's file (repeat visits elsewhere are real)",
    ("post", "/v1/service-visits", "ro_number"): "the new visit's own repair-order number",
    ("put", "/v1/service-visits/by-ro/{dealer_code}/{ro_number}", "vin"):
        "the car serviced; a visit opens the dealer's file (repeat visits elsewhere are real)",
    ("post", "/v1/survey-invitations", "context.vin"): "quoted back on the survey page, not looked up",
    ("post", "/v1/survey-invitations", "context.ro_number"): "quoted back on the survey page, not looked up",
    ("post", "/v1/survey-responses/import", "responses[].vin"): "the third party's record of the car, kept as sent",
    ("post", "/v1/survey-responses/import", "responses[].ro_number"): "the third party's record of the visit, kept as sent",
    ("put", "/v1/complaints/{complaint_id}/resolution", "corrective_action.owner"):
        "free text on the case (a role or a name); an improvement plan taking the action over checks it as a staff code",
    ("post", "/v1/tech-requests", "vin"): "the car the technical question is about, free text (not a record id): "
                                          "a dealer may ask before the car is on its file",
    ("post", "/v1/recalls", "vins"): "the cars the manufacturer recalls: every VIN of its network is its own (no "
                                     "sibling manufacturer), and a VIN on no dealer's file yet is listed all the same "
                                     "(it goes to its dealer when sold or serviced)",
}


def fresh() -> str:
    return uuid.uuid4().hex[:10]


def phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


@dataclass
class Spec:
    """How to write validly to one operation: who calls, a fresh body each time, and where a stored
    row would show (None: the operation has no read to check with; its refusal is a 4xx problem)."""

    caller: Callable[[World], Org]
    body: Callable[[World], dict[str, Any]]
    stored: Callable[[World, dict[str, Any]], bool] | None = None
    # The record an org field is filled with: for a dealer caller its sibling and cousin dealers;
    # above the dealer, the distributor beside the caller and a dealer below that one.
    foreign_orgs: Callable[[World], list[Org]] = field(default=lambda w: [w.b, w.c])
    # Where to send it, for an operation whose path names the record (an upsert); else the path itself.
    url: Callable[[World], str] | None = None
    # Headers to send, read afresh for each request (an update's If-Match).
    headers: Callable[[World], dict[str, str]] = field(default=lambda w: {})


def listed(org: Org, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = org.client.get(path, params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def anywhere(world: World, path: str, match: Callable[[dict[str, Any]], bool], **params: Any) -> bool:
    """Whether any of the world's orgs now lists a row that matches (each subtree is small)."""
    return any(match(item) for org in (world.north, world.south) for item in listed(org, path, **params))


def _visit(world: World) -> dict[str, Any]:
    a = world.records[world.a.code]
    opened = datetime.now(UTC) - timedelta(hours=2)
    return {"ro_number": f"RO-{fresh()}", "vin": a.vin, "customer_id": a.customer_id, "dealer_code": world.a.code,
            "visit_type": "maintenance", "opened_at": opened.isoformat(), "closed_at": None, "mileage_km": 10,
            "advisor": a.staff_code, "technician": a.staff_code, "repeat_of_ro": a.ro_number, "repeat_cause": "diagnosis"}


def _import(world: World) -> dict[str, Any]:
    a = world.records[world.a.code]
    return {"survey_id": a.survey_id, "responses": [{
        "external_id": f"X-{fresh()}", "dealer_code": world.a.code, "customer_id": a.customer_id,
        "submitted_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(), "answers": {"nps": 9}}]}


def _responses_of(world: World, survey_id: str) -> list[dict[str, Any]]:
    return listed(world.a, "/v1/survey-responses", survey_id=survey_id)


def _above(world: World) -> list[Org]:
    return [world.south, world.c]


# The records the upserts write: created by the valid body, then replaced (never) by each foreign one.
UPSERT_VIN, UPSERT_OWN_VIN, UPSERT_RO = vin(), vin(), f"RO-{fresh()}"


def _upsert_visit(world: World) -> dict[str, Any]:
    return {key: value for key, value in _visit(world).items() if key not in ("ro_number", "dealer_code")}


def _vehicle_owned_by(vin_: str) -> Callable[[World, dict[str, Any]], bool]:
    return lambda w, body: anywhere(w, "/v1/vehicles", lambda v: v["vin"] == vin_
                                    and v["owner_customer_id"] == body["owner_customer_id"])


def _visit_of_a(world: World) -> str:
    return f"/v1/service-visits/{world.records[world.a.code].visit_id}"


def _stored_visit_of_a(world: World, body: dict[str, Any]) -> bool:
    stored = world.a.client.get(_visit_of_a(world)).json()
    return all(stored[name] == body.get(name) for name in ("appointment_id", "advisor", "technician", "repeat_of_ro"))


# Records of A made once, on first use, for the updates that name staff.
_MADE: dict[str, str] = {}


def _booked_of_a(world: World) -> str:
    """A booked appointment of A's, which the PATCH moves to another advisor."""
    if "appointment" not in _MADE:
        made = world.a.client.post("/v1/appointments", json={
            "dealer_code": world.a.code, "customer_id": world.records[world.a.code].customer_id, "slot_at": _slot()})
        assert made.status_code == 201, made.text
        _MADE["appointment"] = made.json()["id"]
    return f"/v1/appointments/{_MADE['appointment']}"


def _open_followup_of_a(world: World) -> str:
    """An open follow-up of A's (a new prospect's), which the attempts are made for."""
    if "followup" not in _MADE:
        made = world.a.client.post("/v1/prospects", json={"dealer_code": world.a.code, "name": "王芳", "level": "H"})
        assert made.status_code == 201, made.text
        _MADE["followup"] = eventually(lambda: next((f["id"] for f in listed(world.a, "/v1/follow-ups", status="open")
                                                     if f.get("prospect_id") == made.json()["id"]), None),
                                       "the prospect's follow-up")
    return f"/v1/follow-ups/{_MADE['followup']}/attempts"


def _slot() -> str:
    """A slot no other appointment has: the marker a stored booking is found by."""
    return (datetime(2031, 1, 1, tzinfo=UTC) + timedelta(seconds=uuid.uuid4().int % 10**8)).isoformat()


def _signal_of(org: Org, dealers: list[Org]) -> str:
    """A quality signal of `org`'s subtree: three product-quality cases of a fresh model at two of its dealers."""
    model = f"FR-{fresh().upper()}"
    for dealer in (dealers[0], dealers[0], dealers[1]):
        opened = dealer.client.post("/v1/complaints", json={
            "dealer_code": dealer.code, "channel": "hotline", "category": "product_quality", "priority": "P3",
            "description": "Matrix signal", "vehicle_model": model, "symptom_codes": ["NVH-02"]})
        assert opened.status_code == 201, opened.text
    return eventually(lambda: next((s["id"] for s in listed(org, "/v1/quality-signals") if s["vehicle_model"] == model),
                                   None), f"{org.code}'s quality signal")


def _signals(world: World) -> dict[str, str]:
    """North's signal (from A and B) and south's (from C and a second dealer of south's), made once."""
    if "signal_north" not in _MADE:
        _MADE["signal_north"] = _signal_of(world.north, [world.a, world.b])
        _MADE["signal_south"] = _signal_of(world.south, [world.c, world.network.org("dealer", world.south)])
    return {world.north.code: _MADE["signal_north"], world.south.code: _MADE["signal_south"]}


def _booked_at(slot: str) -> Callable[[dict[str, Any]], bool]:
    return lambda a: datetime.fromisoformat(a["slot_at"]) == datetime.fromisoformat(slot)


BODIES: dict[tuple[str, str], Spec] = {
    ("post", "/v1/customers"): Spec(
        lambda w: w.a, lambda w: {"external_id": f"X-{fresh()}", "dealer_code": w.a.code, "name": "张伟", "phone": phone()},
        lambda w, body: anywhere(w, "/v1/customers", lambda c: c["external_id"] == body["external_id"])),
    ("post", "/v1/vehicles"): Spec(
        lambda w: w.a, lambda w: {"vin": vin(), "model": "Lumen S", "model_year": 2025, "dealer_code": w.a.code,
                                  "owner_customer_id": w.records[w.a.code].customer_id},
        lambda w, body: anywhere(w, "/v1/vehicles", lambda v: v["vin"] == body["vin"])),
    ("post", "/v1/deliveries"): Spec(
        lambda w: w.a, lambda w: {"vin": vin(), "customer_id": w.records[w.a.code].customer_id, "dealer_code": w.a.code,
                                  "delivered_at": datetime.now(UTC).isoformat(),
                                  "sales_consultant": w.records[w.a.code].staff_code},
        lambda w, body: anywhere(w, "/v1/vehicles", lambda v: v["vin"] == body["vin"])),
    ("post", "/v1/service-visits"): Spec(
        lambda w: w.a, _visit, lambda w, body: anywhere(w, "/v1/service-visits", lambda v: v["ro_number"] == body["ro_number"])),
    ("post", "/v1/prospects"): Spec(lambda w: w.a, lambda w: {"dealer_code": w.a.code, "name": "王芳", "level": "H"}),
    # The agent is the marker (a fresh staff member of A each time): above the dealer a summary
    # may be withheld, the agent never is.
    ("post", "/v1/interactions"): Spec(
        lambda w: w.a, lambda w: {"dealer_code": w.a.code, "customer_id": w.records[w.a.code].customer_id,
                                  "channel": "phone", "direction": "inbound", "reason": "inquiry",
                                  "agent": on_staff(w.a, f"M-{fresh()}", "cr_agent"),
                                  "started_at": datetime.now(UTC).isoformat()},
        lambda w, body: anywhere(w, "/v1/interactions", lambda i: i["agent"] == body["agent"])),
    ("post", "/v1/appointments"): Spec(
        lambda w: w.a, lambda w: {"dealer_code": w.a.code, "customer_id": w.records[w.a.code].customer_id,
                                  "vin": w.records[w.a.code].vin, "slot_at": _slot(), "service_type": "repair"},
        lambda w, body: anywhere(w, "/v1/appointments", _booked_at(body["slot_at"]))),
    # Linking A's visit to A's own appointment (the valid body) marks that one arrived; a foreign one is refused.
    # Its advisor and technician are A's staff; a foreign code is refused.
    ("patch", "/v1/service-visits/{visit_id}"): Spec(
        lambda w: w.a, lambda w: {"appointment_id": w.records[w.a.code].appointment_id,
                                  "advisor": w.records[w.a.code].staff_code, "technician": w.records[w.a.code].staff_code},
        lambda w, body: _stored_visit_of_a(w, body),
        url=_visit_of_a, headers=lambda w: {"If-Match": w.a.client.get(_visit_of_a(w)).headers["etag"]}),
    ("patch", "/v1/appointments/{appointment_id}"): Spec(
        lambda w: w.a, lambda w: {"advisor": w.records[w.a.code].staff_code},
        lambda w, body: w.a.client.get(_booked_of_a(w)).json()["advisor"] == body["advisor"], url=_booked_of_a,
        headers=lambda w: {"If-Match": w.a.client.get(_booked_of_a(w)).headers["etag"]}),
    # Not reached, so the task stays open for the refused ones (max_attempts is 3).
    ("post", "/v1/follow-ups/{followup_id}/attempts"): Spec(
        lambda w: w.a, lambda w: {"reached": False, "channel": "phone", "agent": w.records[w.a.code].staff_code},
        lambda w, body: any(a["agent"] == body["agent"] for a in w.a.client.get(_open_followup_of_a(w)).json()["items"]),
        url=_open_followup_of_a),
    ("put", "/v1/vehicles/by-vin/{dealer_code}/{vin}"): Spec(
        lambda w: w.a, lambda w: {"model": "Lumen S", "owner_customer_id": w.records[w.a.code].customer_id},
        _vehicle_owned_by(UPSERT_VIN), url=lambda w: f"/v1/vehicles/by-vin/{w.a.code}/{UPSERT_VIN}"),
    ("put", "/v1/vehicles/{vin}"): Spec(
        lambda w: w.a, lambda w: {"model": "Lumen S", "owner_customer_id": w.records[w.a.code].customer_id},
        _vehicle_owned_by(UPSERT_OWN_VIN), url=lambda w: f"/v1/vehicles/{UPSERT_OWN_VIN}"),
    ("put", "/v1/service-visits/by-ro/{dealer_code}/{ro_number}"): Spec(
        lambda w: w.a, _upsert_visit,
        lambda w, body: anywhere(w, "/v1/service-visits", lambda v: v["ro_number"] == UPSERT_RO
                                 and (v["customer_id"], v["advisor"], v["technician"], v["appointment_id"],
                                      v["repeat_of_ro"])
                                 == (body["customer_id"], body["advisor"], body["technician"], body.get("appointment_id"),
                                     body.get("repeat_of_ro"))),
        url=lambda w: f"/v1/service-visits/by-ro/{w.a.code}/{UPSERT_RO}"),
    ("post", "/v1/campaigns"): Spec(
        lambda w: w.a, lambda w: {"org_code": w.a.code, "name": f"matrix {fresh()}", "kind": "care", "channel": "sms",
                                  "message": {"en": "matrix"}},
        lambda w, body: anywhere(w, "/v1/campaigns", lambda c: c["name"] == body["name"])),
    ("post", "/v1/staff"): Spec(
        lambda w: w.a, lambda w: {"dealer_code": w.a.code, "code": f"ST-{fresh()}", "name": "王芳", "role": "cr_agent"},
        lambda w, body: anywhere(w, "/v1/staff", lambda m: m["code"] == body["code"])),
    ("post", "/v1/survey-invitations"): Spec(
        lambda w: w.a, lambda w: {"survey_id": w.records[w.a.code].survey_id, "customer_id": customer(w.a, w.a.code)["id"],
                                  "dealer_code": w.a.code, "channel": "sms", "consent_confirmed": True},
        lambda w, body: any(i["customer_id"] == body["customer_id"] and i["dealer_code"] == body["dealer_code"]
                            for i in listed(w.north, "/v1/survey-invitations", survey_id=body["survey_id"])
                            + listed(w.south, "/v1/survey-invitations", survey_id=body["survey_id"]))),
    ("post", "/v1/survey-responses/import"): Spec(
        lambda w: w.a, _import,
        lambda w, body: any(r.get("external_id") == body["responses"][0]["external_id"]
                            for r in _responses_of(w, body["survey_id"]))),
    ("post", "/v1/complaints"): Spec(
        lambda w: w.a, lambda w: {"dealer_code": w.a.code, "customer_id": w.records[w.a.code].customer_id,
                                  "vin": w.records[w.a.code].vin, "ro_number": w.records[w.a.code].ro_number,
                                  "survey_response_id": w.records[w.a.code].survey_response_id, "channel": "hotline",
                                  "category": "other", "priority": "P3", "description": f"matrix {fresh()}"},
        lambda w, body: anywhere(w, "/v1/complaints", lambda c: c["description"] == body["description"])),
    ("post", "/v1/tech-requests"): Spec(
        lambda w: w.a, lambda w: {"dealer_code": w.a.code, "vin": w.records[w.a.code].vin, "symptom_codes": ["P0300"],
                                  "priority": "P3", "description": f"matrix {fresh()}"},
        lambda w, body: anywhere(w, "/v1/tech-requests", lambda r: r["description"] == body["description"])),
    ("post", "/v1/bulletins"): Spec(
        lambda w: w.north, lambda w: {"title": f"matrix {fresh()}", "body": "Matrix bulletin",
                                      "signal_id": _signals(w)[w.north.code]},
        lambda w, body: anywhere(w, "/v1/bulletins", lambda b: b["title"] == body["title"])),
    ("put", "/v1/complaint-sla-policies"): Spec(
        lambda w: w.north, lambda w: {"dealer_code": w.a.code, "policies": [
            {"priority": "P4", "first_response_hours": 7.25, "resolution_hours": 333.5}]},
        lambda w, body: any(p["first_response_hours"] == 7.25
                            for p in w.c.client.get("/v1/complaint-sla-policies").json()["items"]),
        _above),
    # A's plan: its action's owner A's staff, taken from A's own complaint (description given: a case
    # without a corrective action still names it).
    ("post", "/v1/improvement-plans"): Spec(
        lambda w: w.a, lambda w: {"org_code": w.a.code, "kpi": "csi", "period": "2026-01", "baseline": 80.0,
                                  "target": 85.0, "recheck_period": "2026-02", "cause": f"matrix {fresh()}",
                                  "source": {"kind": "kpi_gap", "ref": "csi"},
                                  "actions": [{"description": "Matrix", "owner": w.records[w.a.code].staff_code,
                                               "due": "2099-01-01", "complaint_id": w.records[w.a.code].complaint_id}]},
        lambda w, body: anywhere(w, "/v1/improvement-plans", lambda p: p["cause"] == body["cause"])),
    ("put", "/v1/survey-integrity/rules"): Spec(
        lambda w: w.north, lambda w: {"org_code": w.a.code, "flags": {"speeder": {"min_share": 0.3}}}, None, _above),
    ("put", "/v1/kpi/targets"): Spec(
        lambda w: w.north, lambda w: {"org_code": w.a.code, "kpi": "csi", "period": "2026", "target": 90}, None, _above),
    ("post", "/v1/orgs"): Spec(
        lambda w: w.north, lambda w: {"code": f"DEA-{fresh().upper()}", "name": "Matrix dealer", "kind": "dealer",
                                      "parent_code": w.north.code, "region": "Test"},
        lambda w, body: w.network.manufacturer.client.get(f"/v1/orgs/{body['code']}").status_code != 404, _above),
    ("post", "/v1/api-keys"): Spec(
        lambda w: w.north, lambda w: {"org_code": w.a.code, "name": f"matrix {fresh()}", "scopes": ["kpi:read"]},
        None, _above),
    ("post", "/v1/users"): Spec(
        lambda w: w.north, lambda w: {"username": f"matrix_{fresh()}", "password": f"Pw-{uuid.uuid4().hex}",
                                      "org_code": w.a.code, "roles": [], "scopes": ["kpi:read"]}, None, _above),
    ("post", "/v1/oauth/clients"): Spec(
        lambda w: w.north, lambda w: {"org_code": w.a.code, "name": f"matrix {fresh()}", "scopes": ["kpi:read"]},
        None, _above),
    ("post", "/v1/webhooks"): Spec(
        lambda w: w.north, lambda w: {"url": f"http://127.0.0.1:9/{fresh()}", "org_code": w.a.code,
                                      "event_types": ["complaint.opened"]},
        lambda w, body: body["url"] in w.network.manufacturer.client.get("/v1/webhooks", params={"limit": 500}).text,
        _above),
}
# Refusals that are per row of a file-like body (200 with the row in `errors`, the others kept).
ROW_ERRORS = {("post", "/v1/survey-responses/import")}


def reference_fields(schema: dict[str, Any], components: dict[str, Any], prefix: str = "",
                     seen: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths (`[]` for array items) of the fields named like a reference, at any depth."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else reference_fields(components[name], components, prefix, seen + (name,))
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += reference_fields(option, components, prefix, seen)
    if isinstance(schema.get("items"), dict):
        found += reference_fields(schema["items"], components, prefix.removesuffix(".") + "[].", seen)
    for name, sub in schema.get("properties", {}).items():
        if name in KINDS:
            found.append(prefix + name)
        found += reference_fields(sub, components, prefix + name + ".", seen)
    return sorted(set(found))


def operations_with_references(network: Network) -> dict[tuple[str, str], list[str]]:
    schema = httpx.get(f"{network.url}/openapi.json", timeout=30).json()
    components = schema.get("components", {}).get("schemas", {})
    operations = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if method in WRITES and body:
                fields = [f for f in reference_fields(body, components) if (method, path, f) not in NOT_REFERENCES]
                if fields:
                    operations[(method, path)] = fields
    return operations


def replaced(body: dict[str, Any], dotted: str, value: str) -> dict[str, Any]:
    """`body` with the field at `dotted` set to `value` (array items: every item)."""
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        return {**body, head[:-2]: [replaced(item, rest, value) for item in body[head[:-2]]]}
    if rest:
        return {**body, head: replaced(body.get(head) or {}, rest, value)}
    return {**body, head: value}


def foreign_values(world: World, spec: Spec, leaf: str) -> list[tuple[str, str]]:
    if KINDS[leaf] in ("dealer", "organisation"):
        return [(org.code, org.code) for org in spec.foreign_orgs(world)]
    if KINDS[leaf] == "quality signal":  # signals belong to the orgs above the dealers: the sibling distributor's
        return [(world.south.code, _signals(world)[world.south.code])]
    if KINDS[leaf] == "staff member":
        return [(org.code, world.records[org.code].staff_code) for org in (world.b, world.c)]
    attribute = {"owner_customer_id": "customer_id", "response_id": "survey_response_id",
                 "repeat_of_ro": "ro_number"}.get(leaf, leaf)
    return [(org.code, getattr(world.records[org.code], attribute)) for org in (world.b, world.c)]


def refusal(method: str, path: str, dotted: str, answer: httpx.Response) -> str | None:
    """What is wrong with the answer to a foreign reference, or None when it is as API.md wants."""
    leaf = dotted.rsplit(".", 1)[-1]
    wanted = {"message": f"unknown {KINDS[leaf]}"}
    if (method, path) in ROW_ERRORS:
        if answer.status_code != 200:
            return f"{answer.status_code} (a per-row refusal expected)"
        body = answer.json()
        # A row's nested field is named by its path in the row (`staff.advisor`).
        ok = body["created"] == 0 and any(e["field"] in (leaf, dotted.rsplit("[].", 1)[-1]) and e["message"] == wanted["message"]
                                          for e in body["errors"])
        return None if ok else f"row not refused as {wanted}: {answer.text[:300]}"
    if not 400 <= answer.status_code < 500 or not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return f"{answer.status_code} (a 4xx problem expected): {answer.text[:300]}"
    errors = answer.json().get("errors") or []
    if answer.status_code != 422 or not any(e.get("field", "").endswith(leaf) and e.get("message") == wanted["message"]
                                            for e in errors):
        return f"{answer.status_code} {answer.text[:300]} (422 with {{field: {leaf}, {wanted}}} expected)"
    return None


@pytest.fixture(scope="module")
def world(network: Network) -> World:
    return build_world(network)


def test_no_write_accepts_a_siblings_or_a_cousins_record(network: Network, world: World, artifacts_dir: Path) -> None:
    operations = operations_with_references(network)
    unknown = sorted(op for op in operations if op not in BODIES)
    assert not unknown, f"writes with reference fields the matrix has no valid body for: {unknown}"
    assert len(operations) >= 10
    rows, failures = [], []
    for (method, path), fields in sorted(operations.items()):
        spec = BODIES[(method, path)]
        caller, target = spec.caller(world), spec.url(world) if spec.url else path
        control = caller.client.request(method.upper(), target, json=spec.body(world), headers=spec.headers(world))
        rows.append(f"{'valid':10} {method.upper():5} {path:32} {'':26} {control.status_code}")
        if control.status_code not in (200, 201) or ((method, path) in ROW_ERRORS and control.json()["failed"]):
            failures.append(f"{method.upper()} {path}: the valid body was refused: {control.status_code} {control.text[:300]}")
            continue
        for dotted in fields:
            for owner, value in foreign_values(world, spec, dotted.rsplit(".", 1)[-1]):
                body = replaced(spec.body(world), dotted, value)
                answer = caller.client.request(method.upper(), target, json=body, headers=spec.headers(world))
                who = "sibling" if owner in (world.b.code, world.south.code) else "cousin"
                rows.append(f"{who:10} {method.upper():5} {path:32} {dotted:26} {answer.status_code}")
                if problem := refusal(method, path, dotted, answer):
                    failures.append(f"{method.upper()} {path} {dotted}={who}'s: {problem}")
                if spec.stored and spec.stored(world, body):
                    failures.append(f"{method.upper()} {path} {dotted}={who}'s: a row was stored")
    (artifacts_dir / "foreign-references.txt").write_text("\n".join(rows) + "\n")
    assert not failures, "\n".join(failures)
