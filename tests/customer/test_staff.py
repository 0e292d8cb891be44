"""Staff: a dealer's people, unique by code in the dealer, named by code on deliveries, visits and
interactions (API.md, Staff)."""

import json
import uuid

import httpx
import pytest

from services.customer.repository import CustomerRepository
from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events
from tests.customer.test_fact_import import send
from tests.customer.test_upserts import visit_body, visit_url

pytestmark = pytest.mark.asyncio


def new_code(prefix: str = "SA") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def add_staff(client: httpx.AsyncClient, dealer_code: str = "DLR-0042", **overrides: object) -> dict:
    body = {"dealer_code": dealer_code, "code": new_code(), "name": "陈杰", "role": "service_advisor", **overrides}
    response = await client.post("/v1/staff", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def retire(client: httpx.AsyncClient, member: dict) -> None:
    etag = (await client.get(f"/v1/staff/{member['id']}")).headers["ETag"]
    response = await client.patch(f"/v1/staff/{member['id']}", json={"active": False}, headers={"If-Match": etag})
    assert response.status_code == 200 and response.json()["active"] is False, response.text


async def listed(client: httpx.AsyncClient, **params: object) -> list[dict]:
    response = await client.get("/v1/staff", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestStaffResource:
    async def test_created_read_back_listed_and_changed(self, dealer: httpx.AsyncClient) -> None:
        code = new_code("TE")
        made = await dealer.post("/v1/staff", json={"code": f"  {code} ", "name": "王强", "role": "technician"})
        assert made.status_code == 201, made.text
        member = made.json()
        assert made.headers["Location"] == f"/v1/staff/{member['id']}" and made.headers["ETag"] == '"v1"'
        assert {k: member[k] for k in ("dealer_code", "code", "name", "role", "active")} == {
            "dealer_code": "DLR-0042", "code": code, "name": "王强", "role": "technician", "active": True}
        read = await dealer.get(f"/v1/staff/{member['id']}")
        assert read.json() == member and read.headers["ETag"] == '"v1"'
        assert member["id"] in [m["id"] for m in await listed(dealer, role="technician", dealer_code="DLR-0042")]
        assert member["id"] not in [m["id"] for m in await listed(dealer, role="cr_agent")]

        patched = await dealer.patch(f"/v1/staff/{member['id']}", json={"name": "王强强", "active": False},
                                     headers={"If-Match": '"v1"'})
        assert patched.status_code == 200 and patched.headers["ETag"] == '"v2"'
        assert patched.json()["name"] == "王强强" and patched.json()["active"] is False
        assert patched.json()["code"] == code  # the code stays: records name the person by it
        assert member["id"] not in [m["id"] for m in await listed(dealer, active="true")]
        assert member["id"] in [m["id"] for m in await listed(dealer, active="false")]
        feed = await listed(dealer, updated_since=patched.json()["updated_at"])
        assert member["id"] in [m["id"] for m in feed]

    async def test_a_code_is_unique_in_its_dealer_retired_ones_included(self, client_for: ClientFactory) -> None:
        dealer = client_for("DLR-0042")
        member = await add_staff(dealer)
        again = await dealer.post("/v1/staff", json={"code": member["code"], "name": "Other", "role": "manager"})
        assert again.status_code == 409
        assert again.json()["errors"] == [{"field": "code", "message": "already on file"}]
        await retire(dealer, member)
        assert (await dealer.post("/v1/staff", json={"code": member["code"], "name": "X", "role": "manager"})).status_code == 409
        # Another dealer may use the same code.
        await add_staff(client_for("DLR-0043"), "DLR-0043", code=member["code"])

    async def test_the_dealer_or_an_org_above_writes_for_a_dealer(self, client_for: ClientFactory) -> None:
        by_distributor = await add_staff(client_for("D-NORTH"), "DLR-0042")
        assert by_distributor["dealer_code"] == "DLR-0042"
        assert (await client_for("D-NORTH").post("/v1/staff", json={
            "code": new_code(), "name": "X", "role": "manager"})).status_code == 422  # above a dealer: name one
        for outsider, dealer_code in (("DLR-0043", "DLR-0042"), ("D-SOUTH", "DLR-0042")):
            response = await client_for(outsider).post("/v1/staff", json={
                "dealer_code": dealer_code, "code": new_code(), "name": "X", "role": "manager"})
            # A body field naming a dealer out of reach is unknown, like any reference (API.md).
            assert response.status_code == 422, (outsider, response.text)
            assert response.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]

    async def test_another_orgs_staff_is_404(self, client_for: ClientFactory) -> None:
        member = await add_staff(client_for("DLR-0042"))
        for outsider in ("DLR-0043", "D-SOUTH", "DLR-0100"):
            client = client_for(outsider)
            assert (await client.get(f"/v1/staff/{member['id']}")).status_code == 404
            patched = await client.patch(f"/v1/staff/{member['id']}", json={"active": False}, headers={"If-Match": '"v1"'})
            assert patched.status_code == 404
            assert member["id"] not in [m["id"] for m in await listed(client)]
        assert (await client_for("DLR-0042").get(f"/v1/staff/{member['id']}")).json()["active"] is True
        assert member["id"] in [m["id"] for m in await listed(client_for("FTMS"), dealer_code="DLR-0042")]

    @pytest.mark.parametrize(("body", "field"), [
        ({"role": "janitor"}, "role"), ({"code": ""}, "code"), ({"code": "A\x00B"}, "code"), ({"code": "x" * 101}, "code"),
        ({"name": " "}, "name"), ({"nickname": "Jie"}, "nickname"),
    ])
    async def test_bad_bodies_are_422(self, dealer: httpx.AsyncClient, body: dict, field: str) -> None:
        response = await dealer.post("/v1/staff", json={"code": new_code(), "name": "陈杰", "role": "manager", **body})
        assert response.status_code == 422
        assert field in [error["field"].split(".")[-1] for error in response.json()["errors"]]

    async def test_a_patch_needs_if_match_and_refuses_nulls(self, dealer: httpx.AsyncClient) -> None:
        member = await add_staff(dealer)
        url = f"/v1/staff/{member['id']}"
        assert (await dealer.patch(url, json={"name": "X"})).status_code == 428
        assert (await dealer.patch(url, json={"name": "X"}, headers={"If-Match": '"v9"'})).status_code == 412
        for field in ("name", "role", "active"):
            response = await dealer.patch(url, json={field: None}, headers={"If-Match": '"v1"'})
            assert response.status_code == 422 and response.json()["errors"][0]["field"] == field
        unchanged = await dealer.patch(url, json={"name": member["name"]}, headers={"If-Match": '"v1"'})
        assert unchanged.headers["ETag"] == '"v1"'
        assert (await dealer.get(url)).json() == member


class TestRecordsNameStaff:
    async def test_a_visit_names_its_advisor_and_technician(self, dealer: httpx.AsyncClient, app) -> None:
        customer = await create(dealer)
        advisor, technician = await add_staff(dealer), await add_staff(dealer, role="technician", code=new_code("TE"))
        made = await dealer.put(visit_url(new_code("RO")), json=visit_body(
            customer["id"], vin_with_check_digit(), closed=True, advisor=advisor["code"], technician=technician["code"]))
        assert made.status_code == 201, made.text
        assert (made.json()["advisor"], made.json()["technician"]) == (advisor["code"], technician["code"])
        [event] = [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == made.json()["id"]]
        assert (event["data"]["advisor"], event["data"]["technician"]) == (advisor["code"], technician["code"])

    @pytest.mark.parametrize("field", ["advisor", "technician"])
    async def test_an_unknown_a_sibling_dealers_or_a_retired_code_is_422(self, client_for: ClientFactory,
                                                                          field: str) -> None:
        dealer = client_for("DLR-0042")
        customer = await create(dealer)
        sibling = await add_staff(client_for("DLR-0043"), "DLR-0043")
        retired = await add_staff(dealer)
        await retire(dealer, retired)
        for code in ("NOBODY", sibling["code"], retired["code"]):
            body = visit_body(customer["id"], vin_with_check_digit(), closed=False, **{field: code})
            created = await dealer.post("/v1/service-visits", json={
                **body, "ro_number": new_code("RO"), "dealer_code": "DLR-0042"})
            upserted = await dealer.put(visit_url(new_code("RO")), json=body)
            for response in (created, upserted):
                assert response.status_code == 422, response.text
                assert response.json()["errors"] == [{"field": field, "message": "unknown staff member"}]
        assert (await dealer.get("/v1/service-visits", params={"customer_id": customer["id"]})).json()["items"] == []

    async def test_a_retired_code_stays_on_its_records(self, dealer: httpx.AsyncClient) -> None:
        """History stays: a visit keeps a retired advisor through later changes, but may not take one anew."""
        customer = await create(dealer)
        advisor = await add_staff(dealer)
        ro_number, vin = new_code("RO"), vin_with_check_digit()
        made = await dealer.put(visit_url(ro_number), json=visit_body(customer["id"], vin, closed=False,
                                                                     advisor=advisor["code"]))
        await retire(dealer, advisor)
        replaced = await dealer.put(visit_url(ro_number), json=visit_body(customer["id"], vin, closed=True,
                                                                         advisor=advisor["code"]))
        assert replaced.status_code == 200 and replaced.json()["advisor"] == advisor["code"]
        patched = await dealer.patch(f"/v1/service-visits/{made.json()['id']}", json={"mileage_km": 1},
                                     headers={"If-Match": replaced.headers["ETag"]})
        assert patched.status_code == 200 and patched.json()["advisor"] == advisor["code"]
        other = await add_staff(dealer)
        await retire(dealer, other)
        refused = await dealer.patch(f"/v1/service-visits/{made.json()['id']}", json={"technician": other["code"]},
                                     headers={"If-Match": patched.headers["ETag"]})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "technician"

    async def test_a_delivery_names_its_sales_consultant(self, client_for: ClientFactory) -> None:
        dealer = client_for("DLR-0042")
        customer = await create(dealer)
        consultant = await add_staff(dealer, role="sales_consultant", code=new_code("SC"))
        sibling = await add_staff(client_for("DLR-0043"), "DLR-0043", role="sales_consultant")
        body = {"vin": vin_with_check_digit(), "customer_id": customer["id"], "dealer_code": "DLR-0042",
                "delivered_at": "2026-05-01T10:00:00+08:00"}
        refused = await dealer.post("/v1/deliveries", json=body | {"sales_consultant": sibling["code"]})
        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"field": "sales_consultant", "message": "unknown staff member"}]
        made = await dealer.post("/v1/deliveries", json=body | {"sales_consultant": consultant["code"]})
        assert made.status_code == 201 and made.json()["sales_consultant"] == consultant["code"]

    async def test_an_interaction_names_its_agent(self, client_for: ClientFactory) -> None:
        dealer = client_for("DLR-0042")
        agent = await add_staff(dealer, role="cr_agent", code=new_code("CR"))
        sibling = await add_staff(client_for("DLR-0043"), "DLR-0043", role="cr_agent")
        body = {"dealer_code": "DLR-0042", "phone": "13800000077", "channel": "phone", "direction": "inbound",
                "reason": "inquiry", "started_at": "2026-06-02T09:15:00+08:00"}
        for code in ("NOBODY", sibling["code"]):
            refused = await dealer.post("/v1/interactions", json=body | {"agent": code})
            assert refused.status_code == 422
            assert refused.json()["errors"] == [{"field": "agent", "message": "unknown staff member"}]
        made = await dealer.post("/v1/interactions", json=body | {"agent": agent["code"]})
        assert made.status_code == 201 and made.json()["agent"] == agent["code"]


class TestImports:
    async def test_an_unknown_code_is_a_row_error_and_the_other_rows_are_kept(
            self, dealer: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
        customer = await create(dealer)
        advisor, technician = await add_staff(dealer), await add_staff(dealer, role="technician")
        lookups = []
        real = CustomerRepository.active_staff_codes

        async def counted(self, dealer_code: str, codes: set[str]) -> set[str]:
            lookups.append(codes)
            return await real(self, dealer_code, codes)

        async def no_single_lookups(*_: object) -> None:
            raise AssertionError("an import checks staff codes per batch, not per row")

        monkeypatch.setattr(CustomerRepository, "active_staff_codes", counted)
        monkeypatch.setattr(CustomerRepository, "active_staff", no_single_lookups)
        rows = [{"ro_number": new_code("RO"), "vin": vin_with_check_digit(), "customer_id": customer["id"],
                 "visit_type": "maintenance", "advisor": advisor["code"], "technician": technician["code"]}
                for _ in range(3)]
        rows[1]["technician"] = "NOBODY"
        answer = await send(dealer, "/v1/service-visits/import", "".join(json.dumps(row) + "\n" for row in rows), jsonl=True)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["created"], result["failed"]) == (2, 1)
        assert result["errors"] == [{"row": 2, "field": "technician", "message": "unknown staff member"}]
        assert lookups == [{advisor["code"], technician["code"], "NOBODY"}]
        kept = (await dealer.get("/v1/service-visits", params={"customer_id": customer["id"]})).json()["items"]
        assert sorted(v["ro_number"] for v in kept) == sorted([rows[0]["ro_number"], rows[2]["ro_number"]])
        assert {v["technician"] for v in kept} == {technician["code"]}

    async def test_a_delivery_import_checks_the_sales_consultant(self, dealer: httpx.AsyncClient) -> None:
        customer = await create(dealer)
        consultant = await add_staff(dealer, role="sales_consultant")
        good, bad = vin_with_check_digit(), vin_with_check_digit()
        body = ("vin,customer_id,delivered_at,sales_consultant\n"
                f"{good},{customer['id']},2026-05-01T10:00:00+08:00,{consultant['code']}\n"
                f"{bad},{customer['id']},2026-05-01T10:00:00+08:00,Zhao Lei\n")
        result = (await send(dealer, "/v1/deliveries/import", body)).json()
        assert (result["created"], result["failed"]) == (1, 1)
        assert result["errors"] == [{"row": 2, "field": "sales_consultant", "message": "unknown staff member"}]
