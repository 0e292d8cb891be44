"""The complaint app in process, on its own database, with a stand-in for the gateway's org directory."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.complaint.app import create_app
from services.complaint.models import TABLES
from services.complaint.references import ReferenceSources
from services.complaint.settings import ComplaintSettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

SECRET = "complaint-unit-test-secret-of-at-least-32-bytes"
ALL_SCOPES = frozenset({"complaints:read", "complaints:write"})
VIN = "LFV3A23C7K3012345"

# Two distributors so a quality signal can span them; D1 and D2 are siblings under DN.
ORGS = {
    "OEM": {"code": "OEM", "name": "Manufacturer", "kind": "manufacturer", "path": "/OEM/"},
    "DN": {"code": "DN", "name": "North", "kind": "distributor", "path": "/OEM/DN/", "parent_code": "OEM"},
    "DS": {"code": "DS", "name": "South", "kind": "distributor", "path": "/OEM/DS/", "parent_code": "OEM"},
    "D1": {"code": "D1", "name": "Dealer 1", "kind": "dealer", "path": "/OEM/DN/D1/", "parent_code": "DN"},
    "D2": {"code": "D2", "name": "Dealer 2", "kind": "dealer", "path": "/OEM/DN/D2/", "parent_code": "DN"},
    "D3": {"code": "D3", "name": "Dealer 3", "kind": "dealer", "path": "/OEM/DS/D3/", "parent_code": "DS"},
    # A third branch for the bulletin reminders, whose working calendars no other test sets.
    "DW": {"code": "DW", "name": "West", "kind": "distributor", "path": "/OEM/DW/", "parent_code": "OEM"},
    "D4": {"code": "D4", "name": "Dealer 4", "kind": "dealer", "path": "/OEM/DW/D4/", "parent_code": "DW"},
    "D5": {"code": "D5", "name": "Dealer 5", "kind": "dealer", "path": "/OEM/DW/D5/", "parent_code": "DW"},
}


def principal(code: str, scopes: frozenset[str] = ALL_SCOPES) -> Principal:
    org = ORGS[code]
    return Principal(f"user-{code}", code, org["path"], org["kind"], scopes=scopes)


def as_(code: str, scopes: frozenset[str] = ALL_SCOPES, if_match: str | None = None) -> dict[str, str]:
    headers = {INTERNAL_HEADER: mint_internal_token(principal(code, scopes), SECRET)}
    if if_match:
        headers["If-Match"] = if_match
    return headers


# What the stand-in customer and survey services refuse: values put here are "unknown <kind>";
# `down` makes them unreachable. Tests that change it put it back.
REFUSED: dict[str, Any] = {"values": set(), "down": False}
KINDS = {"customer_id": "customer", "vin": "vehicle", "ro_number": "visit", "survey_response_id": "response"}


def sources_app(judged: tuple[str, ...]) -> FastAPI:
    """A source service's `/internal/references`, judging the fields it holds."""
    source = FastAPI()

    @source.post("/internal/references")
    async def references(body: dict[str, Any]) -> dict[str, Any]:
        if REFUSED["down"]:
            raise httpx.ConnectError("stand-in source is down")
        if any("\x00" in str(value) for value in body.values()):
            # As the real services on PostgreSQL answer text their database cannot hold.
            return JSONResponse({"title": "Unprocessable"}, status_code=422)
        return {"errors": [{"field": field, "message": f"unknown {KINDS[field]}"} for field, value in body.items()
                           if field in judged and value in REFUSED["values"]]}

    return source


def stand_in_sources() -> ReferenceSources:
    return ReferenceSources(
        "http://customer.test", "http://survey.test",
        customer_transport=httpx.ASGITransport(sources_app(("customer_id", "vin", "ro_number"))),
        survey_transport=httpx.ASGITransport(sources_app(("survey_response_id",))))


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "complaint", once_per_run=True)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = ComplaintSettings(database_url=database_url, internal_secret=SECRET, relay_enabled=False,
                                 jobs_enabled=False, log_json=False)
    directory = stand_in_directory(ORGS, SECRET)
    application = create_app(settings, migrate=True, directory=directory, references=stand_in_sources())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://complaint") as http:
        yield http


async def open_case(client: httpx.AsyncClient, dealer: str = "D1", *, caller: str | None = None,
                    **extra: Any) -> httpx.Response:
    body = {"dealer_code": dealer, "customer_id": str(uuid.uuid4()), "vin": VIN, "channel": "hotline",
            "category": "repair_quality", "priority": "P3", "description": "Noise still there after repair", **extra}
    return await client.post("/v1/complaints", json=body, headers=as_(caller or dealer))


async def opened(client: httpx.AsyncClient, dealer: str = "D1", **extra: Any) -> dict[str, Any]:
    answer = await open_case(client, dealer, **extra)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def move(client: httpx.AsyncClient, case: dict[str, Any], to: str, caller: str = "D1",
               note: str | None = None) -> httpx.Response:
    """Transition with the case's current ETag; updates `case` in place on success."""
    answer = await client.post(f"/v1/complaints/{case['id']}/transitions", json={"to": to, "note": note},
                               headers=as_(caller, if_match=f'"v{case["version"]}"'))
    if answer.status_code == 200:
        case.update(answer.json())
    return answer


async def deliver(client: httpx.AsyncClient, type_: str, data: dict[str, Any], source: str = "/csloop/survey",
                  event_id: str | None = None) -> str:
    """POST an event to /internal/events as the relay would; returns the consumer's outcome."""
    return (await post_event(client, SECRET, type_, data, source=source, event_id=event_id))[1]


async def outbox_events(app: FastAPI, type_: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as session:
        rows = (await session.execute(
            select(TABLES.outbox.c.payload).where(TABLES.outbox.c.type == type_).order_by(TABLES.outbox.c.seq)
        )).scalars()
        return [row["data"] for row in rows]
