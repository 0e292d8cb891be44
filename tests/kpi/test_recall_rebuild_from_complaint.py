"""A rebuild of recall_completion from the real complaint service's records (`/internal/facts/recalls`
and `/recall-completions`) gives what its recall.vin_assigned and recall.completed events gave: each
VIN under the dealer answering for it today, affected from when it was listed, completed by the
remedy visit. The KPI's recall facts are wiped first, so only the rebuild can bring them back."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from services.complaint.app import create_app as create_complaint_app
from services.complaint.models import TABLES as COMPLAINT_TABLES
from services.complaint.settings import ComplaintSettings
from services.kpi.models import RecallVinFact
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.contracts import complaint as complaint_contract
from shared.types import vin_check_digit
from tests.complaint.conftest import stand_in_sources
from tests.kpi.conftest import ORGS, SECRET, summary
from tests.kpi.in_process import running_kpi
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

RECALL_EVENTS = (complaint_contract.RECALL_VIN_ASSIGNED, complaint_contract.RECALL_COMPLETED)
REMEDY = "RC14A"


class ComplaintSource(httpx.AsyncBaseTransport):
    """The sources a rebuild reads: the real complaint service, and no survey or customer records."""

    def __init__(self, complaint: FastAPI) -> None:
        empty = FastAPI()

        @empty.get("/internal/facts/{kind}")
        async def nothing(kind: str) -> dict[str, Any]:
            return {"items": [], "next_cursor": None}

        self.complaint, self.empty = httpx.ASGITransport(complaint), httpx.ASGITransport(empty)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self.complaint if request.url.host == "complaint.test" else self.empty).handle_async_request(request)


@pytest.fixture(scope="module")
async def apps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, FastAPI,
                                                                                  httpx.AsyncClient]]:
    settings = ComplaintSettings(database_url=await unit_database_url(tmp_path_factory, "complaint_recall_feed"),
                                 internal_secret=SECRET, relay_enabled=False, jobs_enabled=False, log_json=False)
    complaint_app = create_complaint_app(settings, migrate=True, directory=stand_in_directory(ORGS, SECRET),
                                         references=stand_in_sources())
    async with complaint_app.router.lifespan_context(complaint_app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(complaint_app), base_url="http://complaint.test") as complaint, \
            running_kpi(await unit_database_url(tmp_path_factory, "kpi_recall_feed"), SECRET, ORGS,
                        source_transport=ComplaintSource(complaint_app), complaint_url="http://complaint.test",
                        customer_url="http://customer.test", survey_url="http://survey.test") as (kpi_app, kpi, _):
        yield complaint_app, complaint, kpi_app, kpi


def make_vin(n: int) -> str:
    draft = f"LRW3E7EA0P{n:07d}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


async def _customer_event(complaint: httpx.AsyncClient, type_: str, data: dict[str, Any]) -> None:
    _, outcome = await post_event(complaint, SECRET, type_, data, source="/csloop/customer")
    assert outcome == "applied"


async def _delivered(complaint: httpx.AsyncClient, vin: str, dealer: str) -> None:
    await _customer_event(complaint, "vehicle.delivered", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "delivery_id": str(uuid.uuid4()), "vin": vin,
        "customer_id": str(uuid.uuid4()), "delivered_at": "2026-03-01T08:00:00Z"})


async def _remedied(complaint: httpx.AsyncClient, vin: str, dealer: str, at: datetime) -> None:
    await _customer_event(complaint, "service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": str(uuid.uuid4()),
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": vin, "customer_id": str(uuid.uuid4()),
        "visit_type": "repair", "closed_at": at.isoformat(), "op_codes": [REMEDY]})


async def _recall_events(complaint_app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """The complaint service's recall events, in the order it published them."""
    outbox = COMPLAINT_TABLES.outbox
    async with complaint_app.state.sessions() as session:
        rows = await session.execute(select(outbox.c.type, outbox.c.payload).where(outbox.c.type.in_(RECALL_EVENTS))
                                     .order_by(outbox.c.seq))
        return [(type_, payload["data"]) for type_, payload in rows]


async def _figures(kpi: httpx.AsyncClient, period: str) -> dict[str, tuple[float | None, int]]:
    figures = {}
    for org in ORGS:
        kpis = await summary(kpi, org, period)
        figures[org] = (kpis["recall_completion"]["value"], kpis["recall_completion"]["n"])
    return figures


async def test_a_rebuild_from_the_complaint_service_restores_recall_completion(apps) -> None:
    complaint_app, complaint, kpi_app, kpi = apps
    now = datetime.now(UTC)
    d1a, d1b, d3a, later = (make_vin(7000 + n) for n in range(4))
    for vin, dealer in ((d1a, "D1"), (d1b, "D1"), (d3a, "D3")):
        await _delivered(complaint, vin, dealer)
    oem = Principal("key-OEM", "OEM", "/OEM/", "manufacturer", (), frozenset({"complaints:write", "complaints:read"}))
    created = await complaint.post("/v1/recalls", headers={INTERNAL_HEADER: mint_internal_token(oem, SECRET)}, json={
        "code": f"RC-{uuid.uuid4().hex[:6]}", "title": "Fuel pump relay", "remedy_op_code": REMEDY,
        "vins": [d1a, d1b, d3a, later]})
    assert created.status_code == 201, created.text
    await _delivered(complaint, later, "D2")  # sold after the recall: it moves from the manufacturer to D2
    await _remedied(complaint, d1a, "D1", now - timedelta(hours=2))
    await _remedied(complaint, d3a, "D1", now - timedelta(hours=1))  # done elsewhere, still D3's car
    for type_, data in await _recall_events(complaint_app):
        _, outcome = await post_event(kpi, SECRET, type_, data, source="/csloop/complaint")
        assert outcome == "applied"

    period = now.strftime("%Y-%m")
    before = await _figures(kpi, period)
    assert (before["D1"], before["D2"], before["D3"]) == ((50.0, 2), (0.0, 1), (100.0, 1))
    assert (before["DN"], before["OEM"]) == ((33.3, 3), (50.0, 4))

    async with kpi_app.state.sessions() as session, session.begin():
        await session.execute(delete(RecallVinFact))  # lost: only the rebuild can bring them back
    assert (await _figures(kpi, period))["OEM"][1] == 0
    answer = await kpi.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rebuilt"]["recall-completions"] == 2
    assert await _figures(kpi, period) == before
