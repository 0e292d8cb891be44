"""A relay's batch of customer events, applied together (issue 12 item 5): one upsert of the
consent records per run of customer.created / customer.updated, the same outcome as event by
event, each event id once; on PostgreSQL a constant number of round trips whatever its size."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.survey.models import CustomerConsent, Invitation
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import utcnow
from shared.events import new_event
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.roundtrips import RoundTripCounter, counting_proxy
from tests.survey.conftest import ORGS, SECRET, deliver, survey_app

# BEGIN, the org setting, the processed-event ids, the consent upsert, COMMIT.
CUSTOMER_BATCH_ROUND_TRIPS = 5  # before: 3 per event (a consent read, its insert or update, the event id) and a transaction each


def changed(customer_id: uuid.UUID, survey: bool, type_: str = "customer.updated", dealer: str = "D1",
            version: int | None = None) -> dict[str, Any]:
    return new_event("/csloop/customer", type_, f"customers/{customer_id}", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "customer_id": str(customer_id), "version": version,
        "consent": {"survey": survey, "marketing": False, "share_with_manufacturer": False}}).model_dump(mode="json")


def erased(customer_id: uuid.UUID) -> dict[str, Any]:
    return new_event("/csloop/customer", "customer.erased", f"customers/{customer_id}", {
        "dealer_code": "D1", "org_path": ORGS["D1"]["path"], "customer_id": str(customer_id),
        "erased_at": utcnow().isoformat()}).model_dump(mode="json")


async def post_batch(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, str]:
    token = mint_internal_token(system_principal(), SECRET)
    answer = await client.post("/internal/events", json=events, headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200, answer.text
    return answer.json()["outcomes"]


async def consents(app: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[bool, bool]]:
    async with app.state.sessions() as session:
        rows = await session.execute(select(CustomerConsent.customer_id, CustomerConsent.survey, CustomerConsent.erased)
                                     .where(CustomerConsent.customer_id.in_(ids)))
        return {row.customer_id: (row.survey, row.erased) for row in rows}


async def test_a_batch_leaves_what_its_events_one_by_one_would(app, client: httpx.AsyncClient) -> None:
    new, kept, gone, late = (uuid.uuid4() for _ in range(4))
    await post_batch(client, [changed(kept, True, "customer.created")])
    batch = [
        changed(new, False, "customer.created"), changed(new, True),  # the last word of a customer wins
        changed(kept, False), changed(kept, True), changed(kept, False),
        changed(gone, True, "customer.created"), erased(gone), changed(gone, True),  # an erasure stays
        erased(late), changed(late, True, "customer.created"),
    ]
    outcomes = await post_batch(client, [*batch, batch[0]])
    assert set(outcomes.values()) == {"applied"} and len(outcomes) == len(batch)
    assert await consents(app, [new, kept, gone, late]) == {
        new: (True, False), kept: (False, False), gone: (False, True), late: (False, True)}
    assert set((await post_batch(client, batch)).values()) == {"duplicate"}  # a redelivered batch changes nothing
    await post_batch(client, [changed(new, False)])
    assert (await consents(app, [new]))[new] == (False, False)


async def test_a_change_delivered_late_never_undoes_a_newer_one(app, client: httpx.AsyncClient) -> None:
    within, across = uuid.uuid4(), uuid.uuid4()
    await post_batch(client, [changed(within, True, "customer.created", version=1), changed(within, False, version=3),
                              changed(within, True, version=2), changed(across, True, "customer.created", version=1),
                              changed(across, False, version=4)])
    assert await consents(app, [within, across]) == {within: (False, False), across: (False, False)}
    await post_batch(client, [changed(across, True, version=3)])  # a batch the relay sent again, late
    assert (await consents(app, [across]))[across] == (False, False)
    await deliver(client, "customer.updated", changed(across, True, version=2)["data"])  # one by one: the same
    assert (await consents(app, [across]))[across] == (False, False)
    await post_batch(client, [changed(across, True, version=5)])
    assert (await consents(app, [across]))[across] == (True, False)


async def test_other_events_of_the_batch_are_applied_between_the_customer_runs(app, client: httpx.AsyncClient) -> None:
    customer_id = uuid.uuid4()
    visit = new_event("/csloop/customer", "service_visit.closed", None, {
        "dealer_code": "D1", "org_path": ORGS["D1"]["path"], "visit_id": str(uuid.uuid4()), "vin": "LFV3A23C7K3000099",
        "customer_id": str(customer_id), "ro_number": "RO-B1", "visit_type": "maintenance",
        "closed_at": utcnow().isoformat()}).model_dump(mode="json")
    await post_batch(client, [changed(customer_id, True, "customer.created"), visit, changed(customer_id, False)])
    assert (await consents(app, [customer_id]))[customer_id] == (False, False)
    async with app.state.sessions() as session:
        invited = (await session.scalars(select(Invitation).where(Invitation.customer_id == customer_id))).all()
    assert len(invited) == 1


@pytest.fixture(scope="module")
def role_url() -> str:
    return app_role_url(postgres_base_url() or "")


@pytest.fixture(scope="module")
async def counted(role_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, RoundTripCounter]]:
    await drop_postgres_databases(postgres_base_url() or "", ["survey_event_roundtrips"])
    async with counting_proxy(f"{role_url}_survey_event_roundtrips") as (url, counter):
        app = survey_app(url, log_level="WARNING")
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://survey") as client:
            yield client, counter


@pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")
async def test_a_batch_of_customer_events_costs_the_same_round_trips_whatever_its_size(counted) -> None:
    client, counter = counted
    await post_batch(client, [changed(uuid.uuid4(), True, "customer.created") for _ in range(20)])  # warm
    for size in (10, 200):
        customers = [uuid.uuid4() for _ in range(size)]
        counter.reset()
        outcomes = await post_batch(client, [changed(c, True, "customer.created") for c in customers])
        assert set(outcomes.values()) == {"applied"}
        assert counter.count <= CUSTOMER_BATCH_ROUND_TRIPS
        counter.reset()
        await post_batch(client, [changed(c, i % 2 == 0) for i, c in enumerate(customers)])
        assert counter.count <= CUSTOMER_BATCH_ROUND_TRIPS
