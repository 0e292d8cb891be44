"""Bulk imports of vehicles, deliveries and service visits: CSV and JSON Lines, upserts, row errors."""

import json
import uuid

import httpx
import pytest

from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events

pytestmark = pytest.mark.asyncio


async def send(client: httpx.AsyncClient, path: str, body: str, *, jsonl: bool = False,
               dealer_code: str = "DLR-0042") -> httpx.Response:
    return await client.post(path, params={"dealer_code": dealer_code}, content=body.encode(),
                             headers={"Content-Type": "application/x-ndjson" if jsonl else "text/csv"})


class TestVehicles:
    async def test_csv_rows_are_upserted_and_bad_rows_reported(self, dealer: httpx.AsyncClient) -> None:
        owner = await create(dealer)
        first, second = vin_with_check_digit(), vin_with_check_digit()
        body = ("vin,model,model_year,plate,owner_external_id\n"
                f"{first},Lumen S,2025,沪A1,{owner['external_id']}\n"
                f"{second},Lumen X,not a year,,\n"
                "NOTAVIN,Lumen,2025,,\n"
                f"{second},Lumen X,2024,,NO-SUCH-CUSTOMER\n")
        answer = await send(dealer, "/v1/vehicles/import", body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["created"], result["updated"], result["failed"]) == (1, 0, 3)
        assert [(e["row"], e["field"]) for e in result["errors"]] == [
            (2, "model_year"), (3, "vin"), (4, "owner_external_id")]
        stored = (await dealer.get(f"/v1/vehicles/{first}")).json()
        assert stored["owner_customer_id"] == owner["id"] and stored["plate"] == "沪A1"
        again = await send(dealer, "/v1/vehicles/import", f"vin,model\n{first},Lumen S+\n{first},Lumen S+\n")
        assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 2, 1)
        stored = (await dealer.get(f"/v1/vehicles/{first}")).json()
        assert stored["model"] == "Lumen S+" and stored["plate"] == "沪A1"  # an absent value never clears one

    async def test_unknown_columns_refuse_the_file_and_a_foreign_dealer_is_404(self, client_for: ClientFactory) -> None:
        refused = await send(client_for("DLR-0042"), "/v1/vehicles/import", "vin,colour\n")
        assert refused.status_code == 422 and refused.json()["errors"] == [{"field": "colour", "message": "unknown column"}]
        elsewhere = await send(client_for("DLR-0042"), "/v1/vehicles/import", "vin\n", dealer_code="DLR-0043")
        assert elsewhere.status_code == 404


class TestDeliveries:
    async def test_a_delivery_imported_twice_publishes_one_vehicle_delivered(self, app, dealer: httpx.AsyncClient) -> None:
        buyer, vin = await create(dealer), vin_with_check_digit()
        row = {"vin": vin, "customer_external_id": buyer["external_id"], "delivered_at": "2026-11-01T10:00:00+08:00",
               "sales_consultant": "SC01"}
        first = await send(dealer, "/v1/deliveries/import", json.dumps(row) + "\n", jsonl=True)
        assert (first.json()["created"], first.json()["failed"]) == (1, 0), first.text
        corrected = await send(dealer, "/v1/deliveries/import", json.dumps(row | {"sales_consultant": "SC02"}) + "\n"
                               + json.dumps(row | {"sales_consultant": "SC02"}) + "\n", jsonl=True)
        assert (corrected.json()["updated"], corrected.json()["unchanged"]) == (2, 1)
        delivered = [e for e in await outbox_events(app, "vehicle.delivered") if e["data"]["vin"] == vin]
        assert len(delivered) == 1
        assert (await dealer.get(f"/v1/vehicles/{vin}")).json()["owner_customer_id"] == buyer["id"]

    async def test_json_lines_row_errors(self, dealer: httpx.AsyncClient) -> None:
        lines = ["not json", "[1]", json.dumps({"vin": vin_with_check_digit(), "colour": "red"}),
                 json.dumps({"vin": vin_with_check_digit(), "delivered_at": "2026-11-01T10:00:00",
                             "customer_id": str(uuid.uuid4())})]
        result = (await send(dealer, "/v1/deliveries/import", "\n".join(lines) + "\n", jsonl=True)).json()
        assert result["failed"] == 4 and result["created"] == 0
        assert [e["field"] for e in result["errors"]][:3] == ["row", "row", "colour"]


class TestVisits:
    async def test_visits_import_creates_closes_and_updates_without_a_second_close(self, app, dealer: httpx.AsyncClient) -> None:
        owner, vin, ro = await create(dealer), vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        header = "ro_number,vin,customer_external_id,visit_type,opened_at,closed_at,symptom_codes,amount_minor\n"
        opened = "2026-11-02T09:00:00+08:00"
        created = await send(dealer, "/v1/service-visits/import",
                             header + f"{ro},{vin},{owner['external_id']},repair,{opened},,BRK01;BRK02,100\n")
        assert created.json()["created"] == 1, created.text
        closed = await send(dealer, "/v1/service-visits/import", header + f"{ro},{vin},,,,2026-11-02T16:00:00+08:00,,\n")
        assert closed.json()["updated"] == 1, closed.text
        changed = await send(dealer, "/v1/service-visits/import", header + f"{ro},{vin},,,,,,99000\n")
        assert changed.json()["updated"] == 1, changed.text
        [visit] = (await dealer.get("/v1/service-visits", params={"vin": vin})).json()["items"]
        assert visit["symptom_codes"] == ["BRK01", "BRK02"] and visit["amount_minor"] == 99000 and visit["closed_at"]
        assert len([e for e in await outbox_events(app, "service_visit.closed") if e["data"]["ro_number"] == ro]) == 1
        assert len([e for e in await outbox_events(app, "service_visit.updated") if e["data"]["ro_number"] == ro]) == 1

    async def test_a_visit_of_another_dealers_customer_is_a_row_error(self, client_for: ClientFactory) -> None:
        theirs = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        body = f"ro_number,vin,customer_id,visit_type\nRO-{uuid.uuid4().hex[:8]},{vin_with_check_digit()},{theirs['id']},repair\n"
        result = (await send(client_for("DLR-0042"), "/v1/service-visits/import", body)).json()
        assert result["failed"] == 1 and result["errors"][0] == {"row": 1, "field": "customer_id", "message": "unknown customer"}
