"""The survey app in process, on its own database, with a stand-in for the gateway's org directory."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.survey.app import create_app
from services.survey.customer_source import CustomerSource
from services.survey.models import TABLES
from services.survey.settings import SurveySettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory
from tests.support.suite import INTEGRITY_FLAGS

SECRET = "survey-unit-test-secret-of-at-least-32-bytes"
ALL_SURVEY_SCOPES = frozenset({"surveys:read", "surveys:write"})

ORGS = {
    "OEM": {"code": "OEM", "name": "Manufacturer", "kind": "manufacturer", "path": "/OEM/"},
    "DN": {"code": "DN", "name": "North", "kind": "distributor", "path": "/OEM/DN/", "parent_code": "OEM"},
    "D1": {"code": "D1", "name": "Dealer 1", "kind": "dealer", "path": "/OEM/DN/D1/", "parent_code": "DN"},
    "D2": {"code": "D2", "name": "Dealer 2", "kind": "dealer", "path": "/OEM/DN/D2/", "parent_code": "DN"},
    # A cousin of D1: a dealer under another distributor.
    "DS": {"code": "DS", "name": "South", "kind": "distributor", "path": "/OEM/DS/", "parent_code": "OEM"},
    "D3": {"code": "D3", "name": "Dealer 3", "kind": "dealer", "path": "/OEM/DS/D3/", "parent_code": "DS"},
}


def principal(code: str, scopes: frozenset[str] = ALL_SURVEY_SCOPES) -> Principal:
    org = ORGS[code]
    return Principal(f"user-{code}", code, org["path"], org["kind"], scopes=scopes)


def as_(code: str, scopes: frozenset[str] = ALL_SURVEY_SCOPES) -> dict[str, str]:
    return {INTERNAL_HEADER: mint_internal_token(principal(code, scopes), SECRET)}


def new_code() -> str:
    return "s" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "survey", once_per_run=True)


def survey_app(database_url: str, **settings: Any) -> FastAPI:
    """The survey service these tests run: no relay (its passes are transactions of their own,
    not a request's), no jobs, and a customer service that knows no one: customers become
    known through events."""
    nobody = CustomerSource("http://customer.test", transport=httpx.MockTransport(lambda _: httpx.Response(404)))
    return create_app(SurveySettings(database_url=database_url, internal_secret=SECRET, relay_enabled=False,
                                     jobs_enabled=False, survey_link_base="https://csloop.example", log_json=False,
                                     **settings),
                      migrate=True, directory=stand_in_directory(ORGS, SECRET), customers=nobody)


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = survey_app(database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://survey") as http:
        yield http


async def deliver(client: httpx.AsyncClient, type_: str, data: dict[str, Any], source: str = "/csloop/customer",
                  event_id: str | None = None) -> str:
    """POST an event to /internal/events as the relay would; returns the consumer's outcome."""
    return (await post_event(client, SECRET, type_, data, source=source, event_id=event_id))[1]


async def give_consent(client: httpx.AsyncClient, customer_id: uuid.UUID, dealer: str = "D1", survey: bool = True,
                       type_: str = "customer.created") -> None:
    await deliver(client, type_, {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "customer_id": str(customer_id),
        "name": "Wang Fang", "consent": {"survey": survey, "marketing": False, "share_with_manufacturer": True},
    })


async def published_survey(client: httpx.AsyncClient, body: dict[str, Any], owner: str = "OEM") -> dict[str, Any]:
    created = await client.post("/v1/surveys", json={"code": new_code(), **body}, headers=as_(owner))
    assert created.status_code == 201, created.text
    published = await client.post(f"/v1/surveys/{created.json()['id']}/publish", headers=as_(owner))
    assert published.status_code == 200, published.text
    return created.json()


INTEGRITY_OFF = {flag: {"on": False} for flag in INTEGRITY_FLAGS}


async def integrity_off(client: httpx.AsyncClient, org: str = "OEM") -> None:
    """Scripted traffic switches every integrity flag off for its world, through the API (issue 17)."""
    put = await client.put("/v1/survey-integrity/rules", json={"org_code": org, "flags": INTEGRITY_OFF}, headers=as_(org))
    assert put.status_code == 200, put.text


async def invite(client: httpx.AsyncClient, survey_id: str, dealer: str = "D1", *, caller: str | None = None,
                 **extra: Any) -> httpx.Response:
    """Invite `customer_id`, or a fresh consenting customer of `dealer` (its customer event delivered first)."""
    customer_id = extra.pop("customer_id", None)
    if customer_id is None:
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id, dealer if dealer in ORGS else "D1")
    body = {"survey_id": survey_id, "customer_id": str(customer_id), "dealer_code": dealer, "channel": "sms", **extra}
    return await client.post("/v1/survey-invitations", json=body, headers=as_(caller or dealer))


async def token_of(client: httpx.AsyncClient, invited: httpx.Response, owner: str = "OEM") -> str:
    """The invitation's token as the survey's owner reads it (a dealer is not shown the link of a survey owned above it)."""
    assert invited.status_code == 201, invited.text
    read = await client.get(f"/v1/survey-invitations/{invited.json()['id']}", headers=as_(owner))
    return read.json()["url"].rsplit("/", 1)[1]


async def outbox_events(app: FastAPI, type_: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as session:
        rows = (await session.execute(
            select(TABLES.outbox.c.payload).where(TABLES.outbox.c.type == type_).order_by(TABLES.outbox.c.seq)
        )).scalars()
        return [row["data"] for row in rows]
