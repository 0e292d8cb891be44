"""A corpus of hostile inputs against every write endpoint of the merged OpenAPI, with the expected answer for each.

Whole-body attacks (every POST/PUT/PATCH): deeply nested JSON and invalid UTF-8 are 400/422
problems, a 10 MB body is 413. Field attacks (each string and number field of a valid body
for each create endpoint): SQL fragments, control characters (NUL included), bidi and
zero-width characters and 100,000-character strings, huge and non-finite numbers: a 4xx
problem or a stored literal, never a 5xx; refused writes store nothing; SQL stays data.
CSV: formula cells are neutralised in the survey export; oversized and malformed imports
are answered with row errors or a 4xx problem.
"""

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.test_survey_flow import csi_answers, vin
from tests.e2e.test_survey_page import customer, invite, published_survey
from tests.reliability.test_bola_matrix import dealer_records
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

WRITE_METHODS = ("post", "put", "patch")
SQL = ["' OR '1'='1", "'; DROP TABLE customers; --", "1) UNION SELECT password_hash FROM users --", "\\'; SELECT pg_sleep(5); --"]
CONTROL = ["a\x00b", "\x07\x08\x1b[31mred", "\u202eevil\u200b", "\ud7ff\ufffe\uffff"]
LONG = ["x" * 100_000]
NUMBERS: list[Any] = [10**40, -(10**40), 1e308, -1]
MB = 1024 * 1024


def problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


def write_operations(network: Network) -> list[tuple[str, str, str | None]]:
    """(method, path, the media type of its request body, or None when it takes none and ignores what is sent)."""
    schema = httpx.get(f"{network.url}/openapi.json", timeout=30).json()
    return sorted((m, p, next(iter(op.get("requestBody", {}).get("content", {None: None}))))
                  for p, item in schema["paths"].items() for m, op in item.items() if m in WRITE_METHODS)


@pytest.fixture(scope="module")
def world(network: Network) -> tuple[Org, dict[str, str]]:
    d = network.org("distributor")
    a = network.org("dealer", d)
    return a, dealer_records(network, a) | {"token": "not-a-token", "key_id": str(uuid.uuid4())}


def url_for(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


class TestWholeBodies:
    BODIES = {
        "deeply nested JSON": (b"[" * 100_000 + b"]" * 100_000, (400, 422)),
        "deeply nested object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, (400, 422)),
        "invalid UTF-8": (b'{"name": "\xff\xfe\xc3\x28"}', (400, 422)),
        "not JSON at all": (b"\x00\x01\x02 <xml/>", (400, 422)),
        "10 MB body": (b'{"name": "' + b"a" * (10 * MB) + b'"}', (413,)),
    }

    def test_every_write_endpoint_refuses_malformed_bodies(self, network: Network, world: tuple[Org, dict]) -> None:
        a, ids = world
        failures = []
        for method, path, media_type in write_operations(network):
            for name, (body, expected) in self.BODIES.items():
                response = a.client.request(method.upper(), url_for(path, ids), content=body,
                                            headers={"Content-Type": "application/json", "If-Match": '"1"'})
                if path.endswith("/import"):
                    ok = 400 <= response.status_code < 500 and problem(response)  # bulk: a 200 MiB cap, not 1 MiB
                elif media_type is None and 413 not in expected:
                    ok = response.status_code < 500  # no body in its contract: what is sent is never read
                elif media_type == "application/x-www-form-urlencoded" and 413 not in expected:
                    ok = response.status_code == 400 and "error" in response.json()  # OAuth answers RFC 6749 errors
                else:
                    ok = response.status_code in expected and problem(response)
                if not ok:
                    failures.append(f"{method.upper()} {path} {name}: {response.status_code} {response.text[:120]}")
        assert not failures, "\n".join(failures)


# Where a refused write would show: a list URL read by the caller (the marker found in it), or a
# check of the marker itself; None when the operation has nothing to read it back with.
Stored = str | Callable[[str], bool] | None


def recall_stored(network: Network) -> Callable[[str], bool]:
    """Whether a recall with the marker's code exists (the list pages oldest first: a code is exact)."""
    return lambda marker: network.manufacturer.client.get(f"/v1/recalls/H{marker.upper()}/progress").status_code != 404


def valid_bodies(network: Network, a: Org, ids: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    """Create endpoints with a valid body each, where what they stored shows (by a marker field), and,
    for what a dealer may not write, the org that writes it: (method, body, stored[, caller])."""
    owner = customer(a, a.code)["id"]
    on_staff(a, "M")  # the staff code the bodies name
    sender = network.org("distributor")
    return {
        "/v1/customers": ("post", {"external_id": "M", "dealer_code": a.code, "name": "M", "phone": "13800138000",
                                   "email": "m@example.cn", "city": "上海"}, "/v1/customers?limit=500"),
        "/v1/vehicles": ("post", {"vin": vin(), "model": "M", "model_year": 2025, "plate": "京A1",
                                  "owner_customer_id": owner}, None),
        "/v1/prospects": ("post", {"dealer_code": a.code, "name": "M", "level": "H", "intended_model": "M",
                                   "source": "web"}, "/v1/prospects?limit=500"),
        "/v1/service-visits": ("post", {"ro_number": "M", "vin": ids["vin"], "customer_id": ids["customer_id"],
                                        "dealer_code": a.code, "visit_type": "repair", "mileage_km": 10,
                                        "amount_minor": 100, "advisor": "M", "repeat_of_ro": ids["ro_number"],
                                        "repeat_cause": "parts"}, None),
        "/v1/complaints": ("post", {"dealer_code": a.code, "channel": "hotline", "category": "other",
                                    "priority": "P4", "description": "M"}, "/v1/complaints?limit=500"),
        "/v1/tech-requests": ("post", {"dealer_code": a.code, "vin": ids["vin"], "symptom_codes": ["M"], "priority": "P4",
                                       "description": "M"}, "/v1/tech-requests?limit=500"),
        "/v1/bulletins": ("post", {"title": "M", "body": "M", "models": ["M"], "symptom_codes": ["M"]},
                          "/v1/bulletins?limit=500", sender),
        "/v1/recalls": ("post", {"code": "M", "title": "M", "remedy_op_code": "M", "vins": [vin()]},
                        recall_stored(network), network.manufacturer),
        "/v1/orgs": ("post", {"code": "M", "name": "M", "kind": "dealer", "parent_code": a.code, "region": "M"}, None),
        "/v1/kpi/targets": ("put", {"org_code": a.code, "kpi": "csi", "period": "2026-01", "target": 80}, None),
        "/v1/improvement-plans": ("post", {"org_code": a.code, "kpi": "csi", "period": "2026-01", "baseline": 80,
                                           "target": 85, "recheck_period": "2026-02", "cause": "M",
                                           "source": {"kind": "driver", "ref": "M"},
                                           "actions": [{"description": "M", "owner": "M", "due": "2099-01-01"}]}, None),
        "/v1/improvement-plans/{plan_id}/transitions": ("post", {"to": "do"}, None),
        "/v1/complaints/{complaint_id}/comments": ("post", {"text": "M"}, None),
        "/v1/survey-responses/{response_id}/review": ("post", {"decision": "valid", "note": "M"}, None),
        "/v1/staff": ("post", {"dealer_code": a.code, "code": "M", "name": "M", "role": "manager"}, "/v1/staff?limit=500"),
        "/v1/follow-ups/{followup_id}/complete": ("post", {"outcome": "M", "note": "M"}, None),
        "/v1/follow-ups/{followup_id}/attempts": ("post", {"reached": False, "channel": "phone", "note": "M"}, None),
        "/v1/follow-ups/{followup_id}/assign": ("post", {"assignee": "M"}, None),
        "/v1/dealers/{code}/desk-settings": ("put", {"maintenance_followups": False, "max_attempts": 3}, None),
        "/v1/interactions": ("post", {"dealer_code": a.code, "customer_id": ids["customer_id"], "channel": "phone",
                                      "direction": "inbound", "reason": "inquiry", "summary": "M", "agent": "M",
                                      "started_at": "2026-06-02T09:15:00+08:00", "duration_s": 10},
                             "/v1/interactions?limit=500"),
        "/v1/appointments": ("post", {"dealer_code": a.code, "customer_id": ids["customer_id"], "vin": ids["vin"],
                                      "requested_at": "2026-06-02T09:15:00+08:00", "slot_at": "2026-06-05T10:00:00+08:00",
                                      "service_type": "maintenance"}, None),
        "/v1/appointments/{appointment_id}/status": ("post", {"to": "no_show"}, None),
        "/v1/campaigns": ("post", {"org_code": a.code, "name": "M", "kind": "care", "channel": "sms",
                                   "message": {"zh-CN": "M", "en": "M"}, "holdout_pct": 10}, "/v1/campaigns?limit=500"),
        # Upserts: the record's key is in the path, so each attempt replaces one record (or is refused).
        f"/v1/customers/by-external-id/{a.code}/HOSTILE-1": ("put", {
            "name": "M", "phone": f"139{uuid.uuid4().int % 10**8:08d}", "email": "m@example.cn", "city": "上海"}, None),
        f"/v1/vehicles/by-vin/{a.code}/{vin()}": ("put", {"model": "M", "model_year": 2025, "plate": "京A1",
                                                          "owner_customer_id": owner}, None),
        f"/v1/service-visits/by-ro/{a.code}/HOSTILE-RO": ("put", {
            "vin": ids["vin"], "customer_id": ids["customer_id"], "visit_type": "repair", "mileage_km": 10,
            "amount_minor": 100, "advisor": "M", "repeat_of_ro": ids["ro_number"], "repeat_cause": "parts"}, None),
    }


# Codes the record defines for itself (not references to look up): attacked like free text.
OWN_CODES = ("remedy_op_code",)


def mutations(body: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for field, value in body.items():
        if isinstance(value, str) and (not field.endswith(("_id", "_code")) or field in OWN_CODES) and field not in (
                "kind", "visit_type", "priority", "channel", "category", "level"):
            out += [(field, v) for v in SQL + CONTROL + LONG]
        elif isinstance(value, int) and not isinstance(value, bool):
            out += [(field, v) for v in NUMBERS]
        elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            out += [(field, [v]) for v in SQL + CONTROL + LONG]  # a list of codes, models or VINs
    return out


class TestFields:
    def test_hostile_field_values_are_refused_or_stored_as_data(self, network: Network, world: tuple[Org, dict]) -> None:
        a, ids = world
        failures, refused = [], []
        for path, (method, body, stored, *writer) in valid_bodies(network, a, ids).items():
            caller = writer[0] if writer else a
            for field, value in mutations(body):
                marker = uuid.uuid4().hex[:10]
                attempt = dict(body)
                for key in ("external_id", "ro_number", "code"):
                    if key in attempt and key != field:
                        attempt[key] = f"H{marker}".upper()
                for key in ("description", "title", "body"):
                    if key in attempt and key != field:
                        attempt[key] = f"hostile {marker}"
                attempt[field] = value
                response = caller.client.request(method.upper(), url_for(path, ids), json=attempt)
                if response.status_code >= 500 or (response.status_code >= 400 and not problem(response)):
                    failures.append(f"{method.upper()} {path} {field}={str(value)[:30]!r}: {response.status_code} {response.text[:150]}")
                elif response.status_code >= 400 and stored:
                    refused.append((caller, stored, marker))
        assert not failures, "\n".join(failures)
        listings = {(caller.code, stored): json.dumps(caller.client.get(stored).json())
                    for caller, stored, _ in refused if isinstance(stored, str)}
        kept = [marker for caller, stored, marker in refused
                if (stored(marker) if callable(stored) else marker in (text := listings[(caller.code, stored)])
                    or marker.upper() in text)]
        assert not kept, f"refused writes stored: {kept}"
        # SQL stayed data: the tables it named are all still there.
        assert a.client.get("/v1/customers").status_code == 200

    def test_sql_fragments_round_trip_as_literal_text(self, world: tuple[Org, dict]) -> None:
        a, _ids = world
        for fragment in SQL:
            made = a.client.post("/v1/customers", json={"external_id": uuid.uuid4().hex[:12], "dealer_code": a.code,
                                                        "name": fragment, "phone": f"139{uuid.uuid4().int % 10**8:08d}"})
            assert made.status_code == 201, made.text
            assert a.client.get(f"/v1/customers/{made.json()['id']}").json()["name"] == fragment.strip()


class TestPathIds:
    """Ids in the path that are strings at the gateway (OAuth client ids): hostile ones are a 404
    problem, never a 5xx, and never reach another org's record."""

    IDS = [*SQL, "x" * 10_000, "..%2F..%2Fapi-keys", "%00", "csc_" + "%E2%80%AE" * 50]

    @pytest.mark.parametrize("method", ["GET", "DELETE"])
    def test_oauth_client_ids(self, world: tuple[Org, dict], method: str) -> None:
        a, ids = world
        failures = []
        for hostile in self.IDS:
            response = a.client.request(method, f"/v1/oauth/clients/{hostile}")
            if response.status_code not in (404, 414) or (response.status_code == 404 and not problem(response)):
                failures.append(f"{method} {hostile[:30]!r}: {response.status_code} {response.text[:120]}")
        assert not failures, "\n".join(failures)
        assert a.client.get(f"/v1/oauth/clients/{ids['client_id']}").status_code == 200  # the real one still there


class TestUpsertKeys:
    """The record's own key in an upsert's path (external id, VIN, RO number): a hostile one is a
    4xx problem, never a 5xx, and never lands on another dealer's record."""

    KEYS = [*SQL, "x" * 10_000, "..%2F..%2Fapi-keys", "%00", "a%0Ab", "%20", "%E2%80%AE" * 50]

    def test_hostile_keys_are_refused_or_stored_as_data(self, world: tuple[Org, dict]) -> None:
        a, ids = world
        paths = {f"/v1/customers/by-external-id/{a.code}/{{key}}": {"name": "M"},
                 f"/v1/vehicles/by-vin/{a.code}/{{key}}": {"model": "M"}, "/v1/vehicles/{key}": {"model": "M"},
                 f"/v1/service-visits/by-ro/{a.code}/{{key}}": {"vin": ids["vin"], "customer_id": ids["customer_id"],
                                                              "visit_type": "repair"}}
        failures = []
        for path, body in paths.items():
            for hostile in self.KEYS:
                response = a.client.put(path.replace("{key}", hostile), json=body)
                if response.status_code >= 500 or (response.status_code >= 400 and response.status_code != 414
                                                   and not problem(response)):
                    failures.append(f"PUT {path} {hostile[:30]!r}: {response.status_code} {response.text[:120]}")
        assert not failures, "\n".join(failures)


class TestCsv:
    def test_survey_export_neutralises_formula_cells(self, network: Network) -> None:
        d = network.org("distributor")
        a = network.org("dealer", d)
        survey_id = published_survey(a, {"template": "csi", "code": f"csi_{uuid.uuid4().hex[:8]}"})
        formulas = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
        for formula in formulas:
            invitation = invite(a, survey_id)
            answers = csi_answers(3, nps=2) | {"nps_reason": formula}
            submitted = network.client(None).post(f"/v1/public/surveys/{invitation['token']}/responses",
                                                  json={"answers": answers})
            assert submitted.status_code in (200, 201), submitted.text
        export = a.client.get("/v1/survey-responses/export.csv", params={"survey_id": survey_id})
        assert export.status_code == 200, export.text
        import csv
        import io

        cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)], cells[:40]
        assert any("HYPERLINK" in c for c in cells)

    @pytest.mark.parametrize("name,body", [
        ("one 5 MB field", "external_id,name,phone\nX1," + "a" * (5 * MB) + ",13800138000\n"),
        ("5,000 columns", ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("v" for _ in range(5000)) + "\n"),
        ("50,000 empty rows", "external_id,name,phone\n" + "\n" * 50_000),
        ("invalid UTF-8", "external_id,name,phone\nX1,\udcff\udcfe,13800138000\n"),
        ("formula cells", "external_id,name,phone\nX1,=cmd|' /C calc'!A0,13800138000\n"),
        ("NUL bytes", "external_id,name,phone\nX\x001,a\x00b,13800138000\n"),
    ])
    def test_oversized_and_malformed_imports_are_answered_not_crashed(self, network: Network, name: str, body: str) -> None:
        d = network.org("distributor")
        a = network.org("dealer", d)
        response = a.client.post("/v1/customers/import", params={"dealer_code": a.code},
                                 content=body.encode("utf-8", "surrogateescape"), headers={"Content-Type": "text/csv"},
                                 timeout=120)
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert problem(response)
            assert a.client.get("/v1/customers").json()["items"] == []
        else:
            summary = response.json()
            assert summary["created"] + summary["updated"] + summary["failed"] <= 1


    @pytest.mark.parametrize("path,header", [("/v1/vehicles/import", "vin,model"),
                                             ("/v1/deliveries/import", "vin,delivered_at,customer_id"),
                                             ("/v1/service-visits/import", "ro_number,vin,visit_type")])
    @pytest.mark.parametrize("name,rows", [
        ("one 5 MB field", "X1," + "a" * (5 * MB) + ",x\n"),
        ("5,000 columns", ",".join("v" for _ in range(5000)) + "\n"),
        ("50,000 empty rows", "\n" * 50_000),
        ("invalid UTF-8", "X1,\udcff\udcfe,x\n"),
        ("formula cells", "=cmd|' /C calc'!A0,=1+1,@SUM(A1)\n"),
        ("NUL bytes", "X\x001,a\x00b,x\n"),
        ("JSON Lines sent as CSV", '{"vin": "x"}\n'),
    ])
    def test_fact_imports_answer_malformed_files(self, network: Network, path: str, header: str, name: str,
                                                 rows: str) -> None:
        d = network.org("distributor")
        a = network.org("dealer", d)
        response = a.client.post(path, params={"dealer_code": a.code}, headers={"Content-Type": "text/csv"},
                                 content=(header + "\n" + rows).encode("utf-8", "surrogateescape"), timeout=120)
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert problem(response)
        else:
            assert response.json()["created"] == 0
        assert a.client.get("/v1/vehicles").json()["items"] == []


@pytest.fixture(scope="module")
def recall_code(network: Network) -> str:
    """A recall of the manufacturer's with no VIN yet, for the import attacks."""
    code = f"RC-HOSTILE-{uuid.uuid4().hex[:8]}"
    made = network.manufacturer.client.post("/v1/recalls", json={"code": code, "title": "Hostile", "remedy_op_code": "H1"})
    assert made.status_code == 201, made.text
    return code


class TestRecallImport:
    """The manufacturer's recall VIN import (CSV or JSON Lines): any hostile file is a 4xx problem
    that lists no VIN (the whole file is refused), never a 5xx."""

    @pytest.mark.parametrize("media_type", ["text/csv", "application/x-ndjson"])
    @pytest.mark.parametrize("name,lines", [
        ("one 5 MB field", "a" * (5 * MB) + "\n"),
        ("5,000 columns", ",".join("v" for _ in range(5000)) + "\n"),
        ("50,000 empty rows", "\n" * 50_000),
        ("invalid UTF-8", "LRW3E7EA\udcff\udcfe00001\n"),
        ("formula cells", "=cmd|' /C calc'!A0\n@SUM(A1)\n"),
        ("NUL bytes", "LRW3E7EA\x00P0000001\n"),
        ("SQL fragments", "\n".join(SQL) + "\n"),
        ("bidi and zero-width", "\u202eLRW3E7EA0P0000001\u200b\n"),
        ("deeply nested JSON", "[" * 100_000 + "]" * 100_000 + "\n"),
        ("numbers", '{"vin": 1e308}\n{"vin": -1}\n'),
    ])
    def test_hostile_files_are_refused_whole(self, network: Network, recall_code: str, media_type: str, name: str,
                                             lines: str) -> None:
        manufacturer = network.manufacturer
        response = manufacturer.client.post(f"/v1/recalls/{recall_code}/vins/import", headers={"Content-Type": media_type},
                                            content=lines.encode("utf-8", "surrogateescape"), timeout=120)
        assert 400 <= response.status_code < 500 and problem(response), f"{response.status_code} {response.text[:300]}"
        progress = manufacturer.client.get(f"/v1/recalls/{recall_code}/progress")
        assert progress.status_code == 200 and progress.json()["affected"] == 0, progress.text


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
