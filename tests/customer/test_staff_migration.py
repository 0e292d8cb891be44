"""Migration 0007: the free-text names of deliveries, visits and interactions become staff codes, a
staff row per distinct trimmed name per dealer, and records naming them validate afterwards. On
PostgreSQL as the plain role, row-level security on (as the services migrate)."""

import uuid
from datetime import UTC, datetime

import pytest

from services.customer.app import MIGRATIONS
from shared.migrations import upgrade
from tests.customer.conftest import clients_of, running_customer_service, vin_with_check_digit
from tests.support.databases import execute_as_system, migration_database_url

pytestmark = pytest.mark.asyncio
NORTH, SOUTH = "/FTMS/D-NORTH/DLR-0042/", "/FTMS/D-SOUTH/DLR-0100/"
# (table, dealer_code, org_path, name as the DMS sent it)
NAMES = [
    ("deliveries", "DLR-0042", NORTH, "Zhao Lei"), ("deliveries", "DLR-0042", NORTH, " Zhao Lei "),
    ("deliveries", "DLR-0100", SOUTH, "Zhao Lei"),
    ("service_visits", "DLR-0042", NORTH, "陈杰\u3000"), ("service_visits", "DLR-0042", NORTH, "Zhao Lei\t"),
    ("service_visits", "DLR-0042", NORTH, "   "), ("service_visits", "DLR-0042", NORTH, None),
    ("interactions", "DLR-0042", NORTH, "CR01"),
]


@pytest.fixture
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migration_database_url(tmp_path_factory, "customer_migration_0007")


def _id(value: uuid.UUID, url: str) -> str:
    """How a Uuid column holds the id: native on PostgreSQL, 32 hex digits on SQLite."""
    return str(value) if url.startswith("postgresql") else value.hex


async def _records_at_0006(url: str) -> dict[str, uuid.UUID]:
    """One customer per dealer, and a record per name of NAMES."""
    now = datetime(2026, 5, 1, tzinfo=UTC).isoformat(sep=" ") if not url.startswith("postgresql") else datetime(2026, 5, 1, tzinfo=UTC)
    customers = {"DLR-0042": uuid.uuid4(), "DLR-0100": uuid.uuid4()}
    owned = "id, dealer_code, org_path, created_at, updated_at"
    await execute_as_system(url, f"INSERT INTO customers ({owned}, name, consent_survey, consent_marketing, "
                        "consent_share_with_manufacturer, version) VALUES (:id, :d, :p, :now, :now, 'Li Wei', true, false, "
                        "false, 1)", [{"id": _id(cid, url), "d": d, "p": NORTH if d == "DLR-0042" else SOUTH, "now": now}
                                      for d, cid in customers.items()])
    for number, (table, dealer_code, path, name) in enumerate(NAMES):
        row = {"id": _id(uuid.uuid4(), url), "d": dealer_code, "p": path, "now": now, "name": name,
               "c": _id(customers[dealer_code], url), "n": f"RO-{number}", "vin": f"LFV0000000000{number:04d}"}
        statement = {
            "deliveries": f"INSERT INTO deliveries ({owned}, vin, customer_id, delivered_at, sales_consultant) "
                          "VALUES (:id, :d, :p, :now, :now, :vin, :c, :now, :name)",
            "service_visits": f"INSERT INTO service_visits ({owned}, ro_number, vin, customer_id, visit_type, "
                              "symptom_codes, op_codes, advisor, version, owner_verified) "
                              "VALUES (:id, :d, :p, :now, :now, :n, :vin, :c, 'repair', '[]', '[]', :name, 1, true)",
            "interactions": f"INSERT INTO interactions ({owned}, customer_id, channel, direction, reason, agent, started_at) "
                            "VALUES (:id, :d, :p, :now, :now, :c, 'phone', 'inbound', 'inquiry', :name, :now)",
        }[table]
        await execute_as_system(url, statement, [row])
    return customers


async def test_free_text_names_become_staff_codes_that_validate(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0006")
    customers = await _records_at_0006(url)
    await upgrade(url, MIGRATIONS, "0007")

    staff = await execute_as_system(url, "SELECT dealer_code, org_path, code, name, role, active FROM staff")
    assert sorted(staff) == sorted([
        ("DLR-0042", NORTH, "Zhao Lei", "Zhao Lei", "sales_consultant", True),  # first met as a consultant
        ("DLR-0100", SOUTH, "Zhao Lei", "Zhao Lei", "sales_consultant", True),  # one per dealer
        ("DLR-0042", NORTH, "陈杰", "陈杰", "service_advisor", True),
        ("DLR-0042", NORTH, "CR01", "CR01", "cr_agent", True),
    ])
    kept = {table: sorted((row[0] for row in await execute_as_system(url, f"SELECT {column} FROM {table}")), key=str)
            for table, column in (("deliveries", "sales_consultant"), ("service_visits", "advisor"),
                                  ("interactions", "agent"))}
    assert kept == {"deliveries": ["Zhao Lei"] * 3, "service_visits": [None, None, "Zhao Lei", "陈杰"],
                    "interactions": ["CR01"]}

    # The names a DMS sends keep working, now as codes; another dealer's name does not.
    async with running_customer_service(url) as app, clients_of(app) as client_for:
        dealer = client_for("DLR-0042")
        body = {"dealer_code": "DLR-0042", "customer_id": str(customers["DLR-0042"]), "delivered_at": "2026-06-01T10:00:00Z"}
        made = await dealer.post("/v1/deliveries", json=body | {"vin": vin_with_check_digit(), "sales_consultant": " Zhao Lei"})
        assert made.status_code == 201, made.text
        visit = await dealer.put("/v1/service-visits/by-ro/DLR-0042/RO-NEW", json={
            "vin": vin_with_check_digit(), "customer_id": str(customers["DLR-0042"]), "visit_type": "repair",
            "advisor": "陈杰", "technician": "Zhao Lei"})
        assert visit.status_code == 201, visit.text
        call = await dealer.post("/v1/interactions", json={
            "dealer_code": "DLR-0042", "phone": "13800000001", "channel": "phone", "direction": "outbound",
            "reason": "follow_up", "agent": "CR01", "started_at": "2026-06-01T10:00:00Z"})
        assert call.status_code == 201, call.text
        listed = (await dealer.get("/v1/staff", params={"dealer_code": "DLR-0042"})).json()["items"]
        assert sorted(m["code"] for m in listed) == ["CR01", "Zhao Lei", "陈杰"]
        south = await client_for("DLR-0100").post("/v1/interactions", json={
            "dealer_code": "DLR-0100", "phone": "13800000001", "channel": "phone", "direction": "outbound",
            "reason": "follow_up", "agent": "CR01", "started_at": "2026-06-01T10:00:00Z"})
        assert south.status_code == 422 and south.json()["errors"][0]["field"] == "agent"
