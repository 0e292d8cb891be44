"""Fixtures for the customer service's in-process tests.

The service runs without the gateway: requests carry an internal token minted here, and a
tiny FastAPI app stands in for the gateway's `/internal/orgs/{code}`. The database is
PostgreSQL when CSLOOP_TEST_DATABASE_URL is set (a database of our own, `<name>_customer_unit`),
else a SQLite file.
"""

import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.customer.app import create_app
from services.customer.settings import CustomerSettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.orgs import OrgInfo
from tests.support.databases import unit_database_url
from tests.support.org_directory import stand_in_directory

SECRET = "customer-unit-test-secret-0123456789abcdef"
ALL_SCOPES = frozenset({"customers:read", "customers:write", "pii:read"})
ORGS = {
    "FTMS": ("manufacturer", "/FTMS/"),
    "D-NORTH": ("distributor", "/FTMS/D-NORTH/"),
    "DLR-0042": ("dealer", "/FTMS/D-NORTH/DLR-0042/"),
    "DLR-0043": ("dealer", "/FTMS/D-NORTH/DLR-0043/"),
    "D-SOUTH": ("distributor", "/FTMS/D-SOUTH/"),
    "DLR-0100": ("dealer", "/FTMS/D-SOUTH/DLR-0100/"),
}


def directory_orgs(orgs: dict[str, tuple[str, str]] = ORGS) -> dict[str, dict[str, str]]:
    return {code: {"code": code, "name": code, "kind": kind, "path": path} for code, (kind, path) in orgs.items()}


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "customer", once_per_run=True)


@asynccontextmanager
async def running_customer_service(database_url: str, orgs: dict[str, tuple[str, str]] = ORGS,
                                   **overrides: Any) -> AsyncIterator[FastAPI]:
    """The customer service in process over `database_url`, with the stand-in org directory of `orgs`
    (other test packages, e.g. tests/security, start their own over a database of their own; a test
    counting a subtree's customers adds orgs no other test writes to)."""
    settings = CustomerSettings(
        database_url=database_url, internal_secret=SECRET, relay_enabled=False, birthday_job_enabled=False, standing_job_enabled=False,
        log_json=False, log_level="WARNING", import_batch_rows=50,
    ).model_copy(update=overrides)
    directory = stand_in_directory(directory_orgs(orgs), SECRET)
    application = create_app(settings, migrate=True, org_directory=directory)
    async with application.router.lifespan_context(application):
        yield application


# The staff every dealer of the tests has, so deliveries, visits and calls can name them by code.
STAFF = {"SA01": "service_advisor", "SA02": "service_advisor", "SC01": "sales_consultant", "SC02": "sales_consultant",
         "TE01": "technician", "CR01": "cr_agent", "CR02": "cr_agent", "MG01": "manager"}


async def seed_staff(application: FastAPI, dealers: tuple[str, ...] = ("DLR-0042", "DLR-0043", "DLR-0100")) -> None:
    async with clients_of(application) as make:
        client = make("FTMS")
        for dealer_code in dealers:
            for code, role in STAFF.items():
                response = await client.post("/v1/staff", json={"dealer_code": dealer_code, "code": code,
                                                                "name": f"Staff {code}", "role": role})
                assert response.status_code in (201, 409), response.text


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with running_customer_service(database_url) as application:
        await seed_staff(application)
        yield application


def principal_of(org_code: str, scopes: frozenset[str] = ALL_SCOPES,
                 orgs: dict[str, tuple[str, str]] = ORGS) -> Principal:
    kind, path = orgs[org_code]
    return Principal(f"key-{org_code}", org_code, path, kind, (), scopes)


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture(scope="session")
async def client_for(app: FastAPI) -> AsyncIterator[ClientFactory]:
    async with clients_of(app) as make:
        yield make


@asynccontextmanager
async def clients_of(app: FastAPI) -> AsyncIterator[ClientFactory]:
    """`make("DLR-0042", scopes=...)`: an HTTP client acting as a key of that org."""
    clients: list[httpx.AsyncClient] = []

    def make(org_code: str | None, scopes: frozenset[str] = ALL_SCOPES) -> httpx.AsyncClient:
        headers = {}
        if org_code == "system":
            headers[INTERNAL_HEADER] = mint_internal_token(system_principal(), SECRET, ttl_seconds=3600)
        elif org_code is not None:
            headers[INTERNAL_HEADER] = mint_internal_token(principal_of(org_code, scopes), SECRET, ttl_seconds=3600)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://customer.test", headers=headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture(scope="session")
async def dealer(client_for: ClientFactory) -> httpx.AsyncClient:
    return client_for("DLR-0042")


def new_phone() -> str:
    return f"+86139{random.randrange(10**8):08d}"


def new_external_id() -> str:
    return f"EXT-{random.randrange(10**12):012d}"


def customer_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "external_id": new_external_id(), "dealer_code": "DLR-0042", "name": "Li Wei", "phone": new_phone(),
        "email": "li.wei@example.com", "birth_date": "1985-06-15", "city": "Tianjin",
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True},
    }
    body.update(overrides)
    return body


def vin_with_check_digit(prefix: str | None = None) -> str:
    """A valid VIN: 16 random characters around a computed check digit."""
    from shared.types import vin_check_digit

    alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    chars = list(prefix or "LFV") + [random.choice(alphabet) for _ in range(17 - len(prefix or "LFV"))]
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return "".join(chars)


class SeesAll:
    """A PII view that shows every person: for tests of the import writers, not of masking."""

    def shows_person(self, *args: object, **kwargs: object) -> bool:
        return True


def new_dealer(letter: str) -> OrgInfo:
    """A dealer of its own for a test that writes straight through a repository."""
    code = f"DLR-{letter}{uuid.uuid4().hex[:8].upper()}"
    return OrgInfo(code=code, name=f"Dealer {code}", kind="dealer", path=f"/FTMS/D-NORTH/{code}/")
