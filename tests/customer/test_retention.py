"""The retention figures (issue 16 item 6): GET /v1/retention counts an org's customers per lifecycle
state and per value segment, against figures counted by hand.

The customers are made under a distributor of this module's own (D-RET > DLR-R1, DLR-R2), so no
other test's customers enter the counts; where each stands is written straight to the table (the
lifecycle job is tested in test_lifecycle.py). No standing row yet: a prospect without a segment.

    DLR-R1  p1 (none stored)   p2 (none stored, not sharing)   a1 active/champion
            a2 active/loyal, not sharing   r1 at_risk/at_risk   l1 lapsed/hibernating   l2 lapsed/-
    DLR-R2  w1 won_back/new   a3 active/regular   a4 active/-
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.customer.models import CustomerStanding
from shared.auth import INTERNAL_HEADER, mint_internal_token
from tests.customer.conftest import (
    ALL_SCOPES,
    ORGS,
    SECRET,
    customer_body,
    principal_of,
    running_customer_service,
)

pytestmark = pytest.mark.asyncio

TREE = ORGS | {
    "D-RET": ("distributor", "/FTMS/D-RET/"),
    "DLR-R1": ("dealer", "/FTMS/D-RET/DLR-R1/"),
    "DLR-R2": ("dealer", "/FTMS/D-RET/DLR-R2/"),
}
# (dealer, shares with the manufacturer, lifecycle stored or None, segment)
CUSTOMERS = {
    "p1": ("DLR-R1", True, None, None),
    "p2": ("DLR-R1", False, None, None),
    "a1": ("DLR-R1", True, "active", "champion"),
    "a2": ("DLR-R1", False, "active", "loyal"),
    "r1": ("DLR-R1", True, "at_risk", "at_risk"),
    "l1": ("DLR-R1", True, "lapsed", "hibernating"),
    "l2": ("DLR-R1", True, "lapsed", None),
    "w1": ("DLR-R2", True, "won_back", "new"),
    "a3": ("DLR-R2", True, "active", "regular"),
    "a4": ("DLR-R2", True, "active", None),
}
NO_SEGMENTS = {"champion": 0, "loyal": 0, "at_risk": 0, "hibernating": 0, "new": 0, "regular": 0}


def client_of(app: FastAPI, org_code: str, scopes: frozenset[str] = ALL_SCOPES) -> httpx.AsyncClient:
    token = mint_internal_token(principal_of(org_code, scopes, TREE), SECRET, ttl_seconds=3600)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://customer.test",
                             headers={INTERNAL_HEADER: token})


@pytest.fixture(scope="module")
async def retention_app(database_url: str) -> AsyncIterator[FastAPI]:
    async with running_customer_service(database_url, TREE) as application:
        now = datetime.now(UTC)
        for name, (dealer_code, shares, lifecycle, segment) in CUSTOMERS.items():
            async with client_of(application, dealer_code) as dealer:
                made = await dealer.post("/v1/customers", json=customer_body(
                    dealer_code=dealer_code, name=name,
                    consent={"survey": True, "marketing": True, "share_with_manufacturer": shares}))
            assert made.status_code == 201, made.text
            if lifecycle is not None:
                async with application.state.sessions() as session, session.begin():
                    session.add(CustomerStanding(
                        customer_id=uuid.UUID(made.json()["id"]), dealer_code=dealer_code, org_path=TREE[dealer_code][1],
                        lifecycle=lifecycle, lifecycle_since=now, last_visit_at=now, frequency_24m=1,
                        monetary_24m_minor=100, segment=segment, computed_at=now))
        yield application


async def retention(app: FastAPI, caller: str, org_code: str | None = None) -> httpx.Response:
    async with client_of(app, caller) as client:
        return await client.get("/v1/retention", params={"org_code": org_code} if org_code else {})


def figures(response: httpx.Response) -> tuple[int, dict, dict, int]:
    assert response.status_code == 200, response.text
    body = response.json()
    return body["customers"], body["lifecycle"], body["segments"], body["unscored"]


class TestCounts:
    async def test_a_dealer_counts_all_its_own_customers(self, retention_app: FastAPI) -> None:
        response = await retention(retention_app, "DLR-R1")
        assert response.json()["org_code"] == "DLR-R1"
        assert figures(response) == (
            7, {"prospect": 2, "active": 2, "at_risk": 1, "lapsed": 2, "won_back": 0},
            NO_SEGMENTS | {"champion": 1, "loyal": 1, "at_risk": 1, "hibernating": 1}, 3)

    async def test_the_distributor_counts_its_subtree_without_the_customers_who_do_not_share(
        self, retention_app: FastAPI,
    ) -> None:
        # p2 and a2 do not share with the manufacturer: not counted above their dealer.
        expected = (8, {"prospect": 1, "active": 3, "at_risk": 1, "lapsed": 2, "won_back": 1},
                    NO_SEGMENTS | {"champion": 1, "at_risk": 1, "hibernating": 1, "new": 1, "regular": 1}, 3)
        assert figures(await retention(retention_app, "D-RET")) == expected
        assert figures(await retention(retention_app, "FTMS", "D-RET")) == expected

    async def test_the_manufacturer_counts_one_dealer_without_its_non_sharing_customers(
        self, retention_app: FastAPI,
    ) -> None:
        assert figures(await retention(retention_app, "FTMS", "DLR-R1")) == (
            5, {"prospect": 1, "active": 1, "at_risk": 1, "lapsed": 2, "won_back": 0},
            NO_SEGMENTS | {"champion": 1, "at_risk": 1, "hibernating": 1}, 2)
        assert figures(await retention(retention_app, "D-RET", "DLR-R2"))[0] == 3

    async def test_the_counts_match_the_customer_list_filtered_by_lifecycle_and_segment(
        self, retention_app: FastAPI,
    ) -> None:
        """The same rule as GET /v1/customers?lifecycle= (and ?segment=) for every caller."""
        for caller, org_code in (("FTMS", "DLR-R1"), ("D-RET", "DLR-R2"), ("DLR-R1", "DLR-R1")):
            _, lifecycle, segments, _ = figures(await retention(retention_app, caller, org_code))
            async with client_of(retention_app, caller) as client:
                for name, filters in [*(("lifecycle", {"lifecycle": state}) for state in lifecycle),
                                      *(("segments", {"segment": segment}) for segment in segments)]:
                    listed = await client.get("/v1/customers", params={"dealer_code": org_code, "limit": 500, **filters})
                    assert listed.status_code == 200, listed.text
                    key = next(iter(filters.values()))
                    counted = lifecycle[key] if name == "lifecycle" else segments[key]
                    assert len(listed.json()["items"]) == counted, (caller, org_code, filters)


class TestRefusals:
    async def test_an_org_outside_the_callers_subtree_is_answered_as_an_unknown_one(
        self, retention_app: FastAPI,
    ) -> None:
        unknown = await retention(retention_app, "DLR-R1", "NOPE-0000")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        for caller, foreign in (("DLR-R1", "DLR-R2"), ("DLR-R1", "D-RET"), ("D-NORTH", "D-RET"), ("D-NORTH", "DLR-R1")):
            answer = await retention(retention_app, caller, foreign)
            assert (answer.status_code, answer.json()) == (404, unknown.json()), (caller, foreign)

    async def test_bad_parameters_are_a_problem(self, retention_app: FastAPI) -> None:
        async with client_of(retention_app, "D-RET") as client:
            for params in ({"org_code": "X" * 41}, {"org": "DLR-R1"}):
                answer = await client.get("/v1/retention", params=params)
                assert answer.status_code == 422, (params, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")

    async def test_a_key_without_customers_read_is_refused(self, retention_app: FastAPI) -> None:
        async with client_of(retention_app, "D-RET", frozenset({"kpi:read"})) as client:
            answer = await client.get("/v1/retention")
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")
