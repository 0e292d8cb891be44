"""Bulk import over HTTP: CSV and JSON Lines, upsert counts, row errors, events."""

import json

import httpx
import pytest

from tests.customer.conftest import ClientFactory, new_external_id, new_phone
from tests.customer.test_api_customers import outbox_events

pytestmark = pytest.mark.asyncio
HEADER = "external_id,name,phone,email,birth_date,city,consent_survey,consent_marketing,consent_share_with_manufacturer\n"


def csv_line(external_id: str, name: str = "Zhang San", phone: str = "", email: str = "", birth: str = "", city: str = "",
             survey: str = "true") -> str:
    return f"{external_id},{name},{phone},{email},{birth},{city},{survey},false,\n"


async def post_csv(client: httpx.AsyncClient, body: str, dealer_code: str = "DLR-0042") -> httpx.Response:
    return await client.post("/v1/customers/import", params={"dealer_code": dealer_code}, content=body.encode(),
                             headers={"content-type": "text/csv"})


async def find(client: httpx.AsyncClient, external_id: str) -> list[dict]:
    return (await client.get("/v1/customers", params={"q": external_id})).json()["items"]


class TestCsvImport:
    async def test_good_rows_are_kept_and_bad_rows_reported_with_row_and_field(self, dealer: httpx.AsyncClient) -> None:
        ids = [new_external_id() for _ in range(4)]
        body = HEADER + "".join([
            csv_line(ids[0], phone=new_phone(), birth="1980-02-03"),
            csv_line(ids[1], phone="12345"),
            csv_line(ids[2], email="bad-email", birth="03/02/1980"),
            csv_line(ids[3], city="Tianjin"),
        ])
        response = await post_csv(dealer, body)
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["created"], result["updated"], result["failed"]) == (2, 0, 2)
        assert sorted((e["row"], e["field"]) for e in result["errors"]) == [(2, "phone"), (3, "birth_date"), (3, "email")]
        assert len(await find(dealer, ids[0])) == 1 and len(await find(dealer, ids[3])) == 1
        assert await find(dealer, ids[1]) == []

    async def test_second_import_updates_by_external_id_and_keeps_absent_values(self, dealer: httpx.AsyncClient, app) -> None:
        external_id, phone = new_external_id(), new_phone()
        first = (await post_csv(dealer, HEADER + csv_line(external_id, phone=phone, city="Tianjin"))).json()
        assert (first["created"], first["updated"]) == (1, 0)
        second = (await post_csv(dealer, HEADER + csv_line(external_id, name="Zhang Xiaosan", survey="") + csv_line(new_external_id()))).json()
        assert (second["created"], second["updated"], second["failed"]) == (1, 1, 0)
        [customer] = await find(dealer, external_id)
        assert customer["name"] == "Zhang Xiaosan"
        assert customer["phone"] == phone and customer["city"] == "Tianjin"
        assert customer["consent"]["survey"] is True
        assert customer["version"] == 2
        updated = [e for e in await outbox_events(app, "customer.updated") if e["data"]["customer_id"] == customer["id"]]
        assert len(updated) == 1 and updated[0]["data"]["external_id"] == external_id
        assert updated[0]["data"]["version"] == 2  # consumers keep the highest version they saw
        assert "name" not in updated[0]["data"] and "phone" not in updated[0]["data"]
        created = [e for e in await outbox_events(app, "customer.created") if e["data"]["customer_id"] == customer["id"]]
        assert len(created) == 1 and created[0]["data"]["consent"]["survey"] is True and created[0]["data"]["version"] == 1

    async def test_duplicates_inside_the_file_are_row_errors(self, dealer: httpx.AsyncClient) -> None:
        external_id, phone = new_external_id(), new_phone()
        body = HEADER + csv_line(external_id, phone=phone) + csv_line(external_id) + csv_line(new_external_id(), phone=phone)
        result = (await post_csv(dealer, body)).json()
        assert (result["created"], result["failed"]) == (1, 2)
        assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, "external_id"), (3, "phone")]

    async def test_phone_of_another_existing_customer_is_a_row_error(self, dealer: httpx.AsyncClient) -> None:
        phone = new_phone()
        existing = (await dealer.post("/v1/customers", json={"name": "A", "phone": phone, "external_id": new_external_id()})).json()
        result = (await post_csv(dealer, HEADER + csv_line(new_external_id()) + csv_line(new_external_id(), phone=phone))).json()
        assert (result["created"], result["failed"]) == (1, 1)
        assert result["errors"][0]["row"] == 2 and result["errors"][0]["field"] == "phone"
        assert existing["id"] in result["errors"][0]["message"]

    async def test_erased_customer_is_not_brought_back(self, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        await post_csv(dealer, HEADER + csv_line(external_id, phone=new_phone()))
        [customer] = await find(dealer, external_id)
        await dealer.post(f"/v1/customers/{customer['id']}/erase")
        result = (await post_csv(dealer, HEADER + csv_line(external_id, name="Back Again"))).json()
        assert (result["updated"], result["failed"]) == (0, 1)
        assert (await dealer.get(f"/v1/customers/{customer['id']}")).json()["name"] == "(erased)"

    async def test_many_rows_across_batches(self, dealer: httpx.AsyncClient) -> None:
        prefix = new_external_id()
        rows = "".join(csv_line(f"{prefix}-{n}", phone=f"+8613{n:09d}"[:14] if n % 3 else "") for n in range(1, 301))
        result = (await post_csv(dealer, HEADER + rows + csv_line(f"{prefix}-bad", phone="0"))).json()
        assert (result["created"], result["failed"]) == (300, 1)
        assert result["errors"][0]["row"] == 301

    async def test_unknown_column_is_422_and_nothing_stored(self, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        response = await post_csv(dealer, "external_id,name,shoe_size\n" + f"{external_id},N,44\n")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "shoe_size"
        assert await find(dealer, external_id) == []

    async def test_wrong_media_type_is_415(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/v1/customers/import", params={"dealer_code": "DLR-0042"}, json=[{"name": "x"}])
        assert response.status_code == 415

    async def test_not_utf8_is_422(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/v1/customers/import", params={"dealer_code": "DLR-0042"},
                                     content=HEADER.encode() + "C1,张三\n".encode("gbk"), headers={"content-type": "text/csv"})
        assert response.status_code == 422

    async def test_bytes_not_utf8_after_written_batches_are_422_and_nothing_stored(self, dealer: httpx.AsyncClient) -> None:
        prefix = new_external_id()  # batches checked and staged, then the bad bytes
        good = "".join(csv_line(f"{prefix}-{n}") for n in range(12_000))
        response = await dealer.post("/v1/customers/import", params={"dealer_code": "DLR-0042"},
                                     content=(HEADER + good).encode() + "C1,张三\n".encode("gbk"),
                                     headers={"content-type": "text/csv"})
        assert response.status_code == 422
        assert await find(dealer, f"{prefix}-0") == []

    async def test_dealer_cannot_import_into_another_dealer(self, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        response = await post_csv(dealer, HEADER + csv_line(external_id), dealer_code="DLR-0043")
        assert response.status_code == 404


class TestJsonLinesImport:
    async def test_json_lines_with_nested_consent_and_bad_lines(self, client_for: ClientFactory) -> None:
        client = client_for("D-NORTH")
        good = new_external_id()
        lines = [
            json.dumps({"external_id": good, "name": "Sun Li", "phone": new_phone(), "consent": {"marketing": True}}),
            "{not json",
            json.dumps({"external_id": new_external_id(), "name": "X", "vin": "nope"}),
            json.dumps(["a", "list"]),
            json.dumps({"external_id": new_external_id(), "name": 5.5}),
        ]
        response = await client.post("/v1/customers/import", params={"dealer_code": "DLR-0043"},
                                      content="\n".join(lines).encode(), headers={"content-type": "application/x-ndjson"})
        result = response.json()
        assert (result["created"], result["failed"]) == (1, 4)
        assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, "row"), (3, "vin"), (4, "row"), (5, "name")]
        # The dealer finds it: from above, `q` never matches a customer who does not share.
        [customer] = await find(client_for("DLR-0043"), good)
        assert customer["dealer_code"] == "DLR-0043"
        assert customer["consent"] == {"survey": False, "marketing": True, "share_with_manufacturer": False}


class TestImportEvents:
    async def test_reimporting_the_same_rows_changes_nothing_and_publishes_nothing(self, dealer: httpx.AsyncClient, app) -> None:
        external_id = new_external_id()
        body = HEADER + csv_line(external_id, phone=new_phone(), city="Tianjin")
        await post_csv(dealer, body)
        again = (await post_csv(dealer, body)).json()
        assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (0, 1, 1, 0)
        [customer] = await find(dealer, external_id)
        assert customer["version"] == 1
        assert not [e for e in await outbox_events(app, "customer.updated") if e["data"]["customer_id"] == customer["id"]]

    async def test_import_events_are_valid_cloudevents_even_with_quotes_and_chinese(self, dealer: httpx.AsyncClient, app) -> None:
        """The external id is the one free-text value in the event: quotes and backslashes must survive."""
        from shared.contracts.customer import CustomerChanged
        from shared.events import CloudEvent

        external_id = new_external_id() + '-张"\\'
        line = f'"{external_id.replace(chr(34), chr(34) * 2)}",Wang,,,,,,,\n'
        result = (await post_csv(dealer, HEADER + line)).json()
        assert result["created"] == 1, result
        [customer] = await find(dealer, external_id)
        [event] = [e for e in await outbox_events(app, "customer.created") if e["data"]["customer_id"] == customer["id"]]
        envelope = CloudEvent.model_validate(event)
        data = CustomerChanged.model_validate(envelope.data)
        assert data.external_id == external_id == customer["external_id"]
        assert data.consent.survey is False and data.org_path == "/FTMS/D-NORTH/DLR-0042/"
        assert envelope.subject == f"customers/{customer['id']}" and envelope.source == "/csloop/customer"


async def test_an_import_merged_in_several_rounds_counts_each_row_once(dealer: httpx.AsyncClient,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL inserts an import's rows as new customers every MERGE_ROWS staged rows (a small
    one makes this file several merges) until one meets a stored customer (here the last merge's,
    then matched); SQLite writes batch by batch."""
    from services.customer import repository_bulk

    monkeypatch.setattr(repository_bulk, "MERGE_ROWS", 100)
    monkeypatch.setattr(repository_bulk, "FIRST_MERGE_ROWS", 100)
    prefix, existing = new_external_id(), new_external_id()
    await post_csv(dealer, HEADER + csv_line(existing, city="Tianjin"))
    rows = "".join(csv_line(f"{prefix}-{n}", phone=new_phone() if n % 2 else "") for n in range(1, 251))
    result = (await post_csv(dealer, HEADER + rows + csv_line(existing, name="Renamed") + csv_line(f"{prefix}-1"))).json()
    assert (result["created"], result["updated"], result["unchanged"], result["failed"]) == (250, 1, 0, 1)
    assert result["errors"] == [{"row": 252, "field": "external_id", "message": "duplicate of row 1"}]
    [customer] = await find(dealer, existing)
    assert customer["name"] == "Renamed" and customer["city"] == "Tianjin"


async def test_import_event_ids_are_uuids_unique_across_imports(dealer: httpx.AsyncClient, app) -> None:
    import uuid

    prefix = new_external_id()
    for round_ in range(2):
        await post_csv(dealer, HEADER + "".join(csv_line(f"{prefix}-{round_}-{n}") for n in range(30)))
    ids = [e["id"] for e in await outbox_events(app, "customer.created") if e["data"]["external_id"].startswith(prefix)]
    assert len(ids) == 60 == len(set(ids))
    assert all(str(uuid.UUID(event_id)) == event_id for event_id in ids)


async def test_a_large_import_gives_the_memory_it_took_back_when_done(dealer: httpx.AsyncClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a large import has answered, or been refused, the allocator returns its free pages
    (shared.memory); a small one does not pay for that."""
    from services.customer import importer

    given_back: list[bool] = []

    async def spy() -> None:
        given_back.append(True)

    monkeypatch.setattr(importer, "give_back_memory", spy)
    small = HEADER + csv_line(new_external_id())
    assert (await post_csv(dealer, small)).status_code == 200
    assert given_back == []
    monkeypatch.setattr(importer, "GIVE_BACK_FROM_BYTES", len(small.encode()))
    assert (await post_csv(dealer, HEADER + csv_line(new_external_id()))).status_code == 200
    assert (await post_csv(dealer, "nonsense,header\n1,2\n" + "x" * len(small))).status_code == 422
    assert given_back == [True, True]
