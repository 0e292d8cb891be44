"""The KPI app in process, on its own database, fed events as the relay would.

Stand-ins: the gateway's /internal/orgs/{code} for a 3-level tree, and the source services'
/internal/facts/<kind> answering what the tests fed as events (for the rebuild test).
Each test uses its own year, so tests share one database without seeing each other's facts.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.kpi.app import create_app
from services.kpi.settings import KpiSettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from tests.kpi.sources import FedRecords, sources_app
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

SECRET = "kpi-unit-test-secret-of-at-least-32-bytes-long"
READ = frozenset({"kpi:read"})
ORGS = {
    "OEM": {"code": "OEM", "name": "Manufacturer", "kind": "manufacturer", "path": "/OEM/"},
    "DN": {"code": "DN", "name": "North", "kind": "distributor", "path": "/OEM/DN/", "parent_code": "OEM"},
    "DS": {"code": "DS", "name": "South", "kind": "distributor", "path": "/OEM/DS/", "parent_code": "OEM"},
    "D1": {"code": "D1", "name": "Dealer 1", "kind": "dealer", "path": "/OEM/DN/D1/", "parent_code": "DN"},
    "D2": {"code": "D2", "name": "Dealer 2", "kind": "dealer", "path": "/OEM/DN/D2/", "parent_code": "DN"},
    "D3": {"code": "D3", "name": "Dealer 3", "kind": "dealer", "path": "/OEM/DS/D3/", "parent_code": "DS"},
}
FED = FedRecords()


def as_(code: str, scopes: frozenset[str] = READ) -> dict[str, str]:
    org = ORGS[code]
    principal = Principal(f"user-{code}", code, org["path"], org["kind"], scopes=scopes)
    return {INTERNAL_HEADER: mint_internal_token(principal, SECRET)}


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "kpi", once_per_run=True)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = KpiSettings(database_url=database_url, internal_secret=SECRET, relay_enabled=False, log_json=False)
    directory = stand_in_directory(ORGS, SECRET)
    application = create_app(settings, migrate=True, directory=directory,
                             source_transport=httpx.ASGITransport(sources_app(FED)))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://kpi") as http:
        yield http


async def deliver(client: httpx.AsyncClient, type_: str, data: dict[str, Any], event_id: str | None = None) -> str:
    event, outcome = await post_event(client, SECRET, type_, data, source="/csloop/test", event_id=event_id)
    FED.add(type_, event.model_dump(mode="json")["data"])
    return outcome


def _survey_common(dealer: str, kind: str) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()),
            "survey_code": kind.upper(), "survey_version": 1, "kind": kind}


async def respond(client: httpx.AsyncClient, dealer: str, at: datetime, index: float | None, *, kind: str = "csi",
                  nps: str | None = None, factors: dict[str, float] | None = None,
                  response_id: uuid.UUID | None = None, event_id: str | None = None, invited: bool = True) -> str:
    data = {**_survey_common(dealer, kind), "response_id": str(response_id or uuid.uuid4()),
            "invitation_id": str(uuid.uuid4()) if invited else None, "submitted_at": at.isoformat(),
            "scores": {"index": index, "factors": factors or {}, "nps_category": nps}}
    return await deliver(client, "survey.response.submitted", data, event_id)


async def invite(client: httpx.AsyncClient, dealer: str, at: datetime) -> None:
    await deliver(client, "survey.invitation.sent", {
        **_survey_common(dealer, "csi"), "invitation_id": str(uuid.uuid4()), "channel": "sms",
        "url": "https://s.example/x", "sent_at": at.isoformat(), "expires_at": (at + timedelta(days=14)).isoformat()})


async def visit(client: httpx.AsyncClient, dealer: str, vin: str, closed: datetime, *, opened: datetime | None = None,
                type_: str = "repair", symptoms: tuple[str, ...] = ("S1",), owner_verified: bool = True) -> None:
    await deliver(client, "service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": str(uuid.uuid4()), "ro_number": "RO-1",
        "vin": vin, "customer_id": str(uuid.uuid4()), "visit_type": type_,
        "opened_at": (opened or closed - timedelta(hours=2)).isoformat(), "closed_at": closed.isoformat(),
        "symptom_codes": list(symptoms), "owner_verified": owner_verified})


async def deliver_vehicle(client: httpx.AsyncClient, dealer: str, vin: str, at: datetime) -> None:
    await deliver(client, "vehicle.delivered", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "delivery_id": str(uuid.uuid4()), "vin": vin,
        "customer_id": str(uuid.uuid4()), "delivered_at": at.isoformat()})


async def summary(client: httpx.AsyncClient, org: str, period: str, caller: str = "OEM") -> dict[str, Any]:
    answer = await client.get("/v1/kpi/summary", params={"org_code": org, "period": period}, headers=as_(caller))
    assert answer.status_code == 200, answer.text
    return answer.json()["kpis"]
