"""Lifecycle, value and win-back (issue 16): the rules of services/customer/lifecycle.py, and the
job (services/customer/standing.py) on a hand-made dealer whose figures are worked out by hand
below. The job runs over its own database, so the dealer's quintiles are these customers' only."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from services.customer import lifecycle, standing
from services.customer.followups import create_birthday_followups
from services.customer.lifecycle import History, Visit, history_of, lifecycle_of, quintiles, segment_of, shift_months
from services.customer.models import FollowUp
from tests.customer.conftest import ClientFactory, clients_of, customer_body, running_customer_service, seed_staff
from tests.customer.test_api_customers import outbox_events
from tests.customer.test_api_vehicles import visit_body
from tests.support.databases import unit_database_url

NOW = datetime(2025, 12, 1, tzinfo=UTC)
CREATED = datetime(2020, 1, 1, tzinfo=UTC)


def months_ago(months: int, now: datetime = NOW) -> datetime:
    return shift_months(now, -months) + timedelta(hours=12)


def state(*visits: datetime, now: datetime = NOW) -> lifecycle.Lifecycle:
    return lifecycle_of(history_of([Visit(at, 100) for at in visits], now), now, CREATED)


class TestRules:
    def test_no_visit_is_a_prospect(self) -> None:
        assert state() == lifecycle.Lifecycle("prospect", CREATED, None)

    def test_nine_months_is_the_edge_of_at_risk(self) -> None:
        last = datetime(2025, 3, 1, tzinfo=UTC)
        assert state(last, now=datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)).state == "active"
        assert state(last, now=datetime(2025, 12, 1, tzinfo=UTC)) == lifecycle.Lifecycle(
            "at_risk", datetime(2025, 12, 1, tzinfo=UTC), None)

    def test_twelve_months_is_the_edge_of_lapsed(self) -> None:
        last = datetime(2024, 12, 1, tzinfo=UTC)
        assert state(last, now=datetime(2025, 11, 30, 23, 59, tzinfo=UTC)).state == "at_risk"
        assert state(last, now=NOW) == lifecycle.Lifecycle("lapsed", NOW, NOW)

    def test_months_clamp_to_the_month_end(self) -> None:
        assert shift_months(datetime(2025, 5, 31, tzinfo=UTC), 9) == datetime(2026, 2, 28, tzinfo=UTC)
        assert shift_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)

    def test_won_back_for_twelve_months_after_the_return(self) -> None:
        before, back = datetime(2023, 1, 10, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC)  # exactly 12 months: a lapse
        assert state(before, back, now=datetime(2024, 6, 1, tzinfo=UTC)) == lifecycle.Lifecycle(
            "won_back", back, datetime(2024, 1, 10, tzinfo=UTC))
        later = datetime(2024, 9, 1, tzinfo=UTC)
        assert state(before, back, later, now=datetime(2025, 1, 9, tzinfo=UTC)).state == "won_back"
        ended = state(before, back, later, now=datetime(2025, 1, 10, tzinfo=UTC))
        assert ended == lifecycle.Lifecycle("active", datetime(2025, 1, 10, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC))

    def test_a_gap_under_twelve_months_is_no_lapse(self) -> None:
        assert state(datetime(2023, 1, 10, tzinfo=UTC), datetime(2024, 1, 9, 23, tzinfo=UTC),
                     now=datetime(2024, 6, 1, tzinfo=UTC)).state == "active"

    def test_at_risk_again_comes_before_won_back(self) -> None:
        back = datetime(2024, 1, 10, tzinfo=UTC)
        assert state(datetime(2022, 1, 1, tzinfo=UTC), back, now=datetime(2024, 10, 10, tzinfo=UTC)).state == "at_risk"

    def test_value_counts_the_24_months(self) -> None:
        visits = [Visit(months_ago(25), 1000), Visit(months_ago(23), 200), Visit(months_ago(1), 300),
                  Visit(NOW + timedelta(days=1), 5000)]  # closed after the moment: not yet
        history = history_of(visits, NOW)
        assert (history.frequency_24m, history.monetary_24m_minor, history.last_visit_at) == (2, 500, months_ago(1))
        assert lifecycle.recency_days(history, NOW) == (NOW - months_ago(1)).days == 29

    def test_quintiles_share_the_lowest_rank_on_ties(self) -> None:
        assert quintiles([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
        assert quintiles([1, 1, 1, 2, 3]) == [1, 1, 1, 4, 5]
        assert quintiles([7, 3, 7, 1, 9, 9, 2, 5, 8, 4]) == [3, 2, 3, 1, 5, 5, 1, 3, 4, 2]

    @pytest.mark.parametrize(("r", "f", "m", "visits", "segment"), [
        (4, 4, 4, 6, "champion"), (5, 5, 3, 6, "loyal"), (3, 4, 1, 4, "loyal"), (4, 1, 5, 1, "new"),
        (4, 2, 5, 2, "regular"), (2, 3, 1, 3, "at_risk"), (1, 1, 3, 1, "at_risk"), (2, 2, 2, 2, "hibernating"),
        (3, 3, 3, 3, "regular"), (2, 4, 4, 5, "at_risk"),
    ])
    def test_segments(self, r: int, f: int, m: int, visits: int, segment: str) -> None:
        assert segment_of(r, f, m, visits) == segment

    def test_history_is_what_the_sql_reads(self) -> None:
        assert history_of([], NOW) == History(None, None, None, None, 0, 0)


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_customer_service(await unit_database_url(tmp_path_factory, "customer_lifecycle")) as application:
        await seed_staff(application)
        yield application


@pytest.fixture(scope="module")
async def client_for(app: FastAPI) -> AsyncIterator[ClientFactory]:
    async with clients_of(app) as make:
        yield make


async def customer(client: httpx.AsyncClient, dealer: str, *visits: tuple[datetime, int], marketing: bool = False,
                   share: bool = True, **extra: object) -> dict:
    body = customer_body(dealer_code=dealer, consent={"survey": True, "marketing": marketing,
                                                      "share_with_manufacturer": share}, **extra)
    created = (await client.post("/v1/customers", json=body)).json()
    for n, (closed_at, amount) in enumerate(visits, start=1):
        await visit(client, created["id"], dealer, n, closed_at, amount)
    return created


async def visit(client: httpx.AsyncClient, customer_id: str, dealer: str, n: int, closed_at: datetime, amount: int) -> dict:
    response = await client.post("/v1/service-visits", json=visit_body(
        customer_id, n=n, dealer_code=dealer, amount_minor=amount,
        opened_at=(closed_at - timedelta(hours=2)).isoformat(), closed_at=closed_at.isoformat()))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
async def dealer_world(app: FastAPI, client_for: ClientFactory) -> dict[str, dict]:
    """DLR-0100's six customers (and one of DLR-0042), the job run at NOW.

    Scored (a visit in the 24 months): A, B, C, D, E, so n = 5 and the quintile is the rank.
    R by last visit: D 13 months ago (1), C 10 (2), E 4 (3), B 2 (4), A 1 (5).
    F by visits in 24 months: B, D, E one each (rank 1), C two (4), A three (5).
    M by spend: D 50 (1), A and E 300 (2), B and C 1000 (4).
    A 552 loyal, B 414 new, C 244 at_risk, D 111 hibernating, E 312 regular; F no score.
    """
    client = client_for("DLR-0100")
    world = {
        "A": await customer(client, "DLR-0100", (months_ago(1), 100), (months_ago(3), 100), (months_ago(5), 100)),
        "B": await customer(client, "DLR-0100", (months_ago(2), 1000)),
        "C": await customer(client, "DLR-0100", (months_ago(10), 500), (months_ago(14), 500), marketing=True),
        "D": await customer(client, "DLR-0100", (months_ago(13), 50), share=False, marketing=True),
        "E": await customer(client, "DLR-0100", (months_ago(30), 200), (months_ago(4), 300)),
        "F": await customer(client, "DLR-0100"),
        # At risk at another dealer, without marketing consent: no win-back.
        "G": await customer(client_for("DLR-0042"), "DLR-0042", (months_ago(10), 900)),
    }
    first = await standing.refresh_all(app.state.sessions, NOW)
    assert (first.changed, first.win_backs) == (6, 1)  # every customer with a visit leaves prospect; C is called
    return world


async def read(client: httpx.AsyncClient, customer_id: str) -> dict:
    response = await client.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def win_backs(app: FastAPI, customer_id: str) -> list[FollowUp]:
    async with app.state.sessions() as session:
        return list((await session.scalars(select(FollowUp).where(FollowUp.kind == "win_back",
                                                                  FollowUp.customer_id == uuid.UUID(customer_id)))).all())


@pytest.mark.asyncio
class TestJob:
    async def test_lifecycle_and_value_on_the_customer(self, dealer_world, client_for) -> None:
        client = client_for("DLR-0100")
        expected = {"A": ("active", "552", "loyal", 3, 300), "B": ("active", "414", "new", 1, 1000),
                    "C": ("at_risk", "244", "at_risk", 2, 1000), "D": ("lapsed", "111", "hibernating", 1, 50),
                    "E": ("won_back", "312", "regular", 1, 300), "F": ("prospect", None, None, 0, 0)}
        for name, (state_, rfm, segment, visits, spend) in expected.items():
            body = await read(client, dealer_world[name]["id"])
            assert body["lifecycle"] == state_, name
            assert body["value"] == {"recency_days": None if name == "F" else body["value"]["recency_days"],
                                     "frequency_24m": visits, "monetary_24m_minor": spend, "rfm": rfm,
                                     "segment": segment}, name
        assert (await read(client, dealer_world["A"]["id"]))["value"]["recency_days"] == (NOW - months_ago(1)).days

    async def test_a_second_run_changes_and_publishes_nothing(self, app, dealer_world, client_for) -> None:
        before = len(await outbox_events(app, "lifecycle.changed"))
        shown = [await read(client_for("DLR-0100"), person["id"]) for person in dealer_world.values()
                 if person["dealer_code"] == "DLR-0100"]
        again = await standing.refresh_all(app.state.sessions, NOW)
        assert (again.changed, again.win_backs) == (0, 0)
        assert len(await outbox_events(app, "lifecycle.changed")) == before
        assert [await read(client_for("DLR-0100"), body["id"]) for body in shown] == shown

    async def test_lifecycle_changed_names_both_states(self, app, dealer_world) -> None:
        events = {e["data"]["customer_id"]: e["data"] for e in await outbox_events(app, "lifecycle.changed")}
        assert dealer_world["F"]["id"] not in events  # still a prospect: no change
        lapsed = events[dealer_world["D"]["id"]]
        assert (lapsed["previous"], lapsed["lifecycle"], lapsed["dealer_code"]) == ("prospect", "lapsed", "DLR-0100")
        assert datetime.fromisoformat(lapsed["since"]) == shift_months(months_ago(13), 12)

    async def test_list_filters(self, dealer_world, client_for) -> None:
        client = client_for("DLR-0100")

        async def ids(**params: str) -> set[str]:
            response = await client.get("/v1/customers", params={"limit": 100, **params})
            assert response.status_code == 200, response.text
            return {item["id"] for item in response.json()["items"]}

        named = {value["id"]: name for name, value in dealer_world.items()}
        assert {named[i] for i in await ids(lifecycle="at_risk")} == {"C"}
        assert {named[i] for i in await ids(lifecycle="prospect")} == {"F"}
        assert {named[i] for i in await ids(segment="loyal")} == {"A"}
        assert {named[i] for i in await ids(lifecycle="active", segment="new")} == {"B"}
        assert await ids(lifecycle="active", segment="hibernating") == set()

    async def test_above_the_dealer_only_sharing_customers_show_their_standing(self, dealer_world, client_for) -> None:
        manufacturer = client_for("FTMS")
        hidden = await read(manufacturer, dealer_world["D"]["id"])
        assert (hidden["lifecycle"], hidden["value"]) == (None, None)
        assert (await read(client_for("DLR-0100"), dealer_world["D"]["id"]))["lifecycle"] == "lapsed"
        assert (await read(manufacturer, dealer_world["C"]["id"]))["lifecycle"] == "at_risk"
        found = (await manufacturer.get("/v1/customers", params={"lifecycle": "lapsed"})).json()["items"]
        assert dealer_world["D"]["id"] not in {item["id"] for item in found}
        found = (await manufacturer.get("/v1/customers", params={"segment": "hibernating", "dealer_code": "DLR-0100"})).json()["items"]
        assert found == []

    async def test_another_dealer_sees_none_of_them(self, dealer_world, client_for) -> None:
        sibling = client_for("DLR-0042")
        assert (await sibling.get(f"/v1/customers/{dealer_world['C']['id']}")).status_code == 404
        items = (await sibling.get("/v1/customers", params={"lifecycle": "at_risk"})).json()["items"]
        assert {item["id"] for item in items} == {dealer_world["G"]["id"]}

    @pytest.mark.parametrize("params", [{"lifecycle": "gone"}, {"segment": "whale"}, {"lifecycle": ""},
                                        {"segment": "at_risk' OR 1=1 --"}])
    async def test_hostile_filters_are_422(self, dealer_world, client_for, params) -> None:
        response = await client_for("DLR-0100").get("/v1/customers", params=params)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"

    # Last: it moves the clock on.
    async def test_win_back_once_per_lapse_and_only_with_marketing_consent(self, app, dealer_world, client_for) -> None:
        [call] = await win_backs(app, dealer_world["C"]["id"])
        assert call.status == "open" and call.dealer_code == "DLR-0100"
        assert await win_backs(app, dealer_world["G"]["id"]) == []  # at risk, no marketing consent
        assert await win_backs(app, dealer_world["D"]["id"]) == []  # lapsed, not at risk
        # C comes back, then drifts away again: a new lapse, a second call.
        await visit(client_for("DLR-0100"), dealer_world["C"]["id"], "DLR-0100", 9, months_ago(-1), 100)
        later = shift_months(NOW, 11)
        await standing.refresh_all(app.state.sessions, later)
        assert len(await win_backs(app, dealer_world["C"]["id"])) == 2
        await standing.refresh_all(app.state.sessions, later + timedelta(days=1))
        assert len(await win_backs(app, dealer_world["C"]["id"])) == 2


@pytest.mark.asyncio
class TestVisitEvents:
    async def test_a_closed_visit_brings_the_customer_up_to_date(self, app, dealer_world, client_for) -> None:
        client = client_for("DLR-0100")
        person = await customer(client, "DLR-0100")
        closed = await visit(client, person["id"], "DLR-0100", 1, datetime.now(UTC) - timedelta(days=3), 700)
        [event] = [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == closed["id"]]
        relay = client_for("system")
        for _ in range(2):  # redelivered: applied once
            assert (await relay.post("/internal/events", json=event)).status_code == 200
        body = await read(client, person["id"])
        assert body["lifecycle"] == "active"
        assert body["value"] == {"recency_days": 3, "frequency_24m": 1, "monetary_24m_minor": 700, "rfm": None,
                                 "segment": None}
        changes = [e for e in await outbox_events(app, "lifecycle.changed") if e["data"]["customer_id"] == person["id"]]
        assert [(e["data"]["previous"], e["data"]["lifecycle"]) for e in changes] == [("prospect", "active")]
        # A daily run computing from an older moment (its snapshot taken before the visit) keeps the newer row.
        await standing.refresh_standing(app.state.sessions, NOW)
        assert (await read(client, person["id"]))["lifecycle"] == "active"


@pytest.mark.asyncio
class TestMarketingConsent:
    async def test_birthday_greetings_only_with_marketing_consent(self, app, client_for) -> None:
        client = client_for("DLR-0100")
        today = datetime.now(UTC).date()
        birthday = today.replace(year=1980).isoformat() if (today.month, today.day) != (2, 29) else "1980-02-29"
        yes = await customer(client, "DLR-0100", marketing=True, birth_date=birthday)
        no = await customer(client, "DLR-0100", marketing=False, birth_date=birthday)
        async with app.state.sessions() as session, session.begin():
            await create_birthday_followups(session, today)
        async with app.state.sessions() as session:
            greeted = set((await session.scalars(select(FollowUp.customer_id).where(FollowUp.kind == "birthday"))).all())
        assert {str(c) for c in greeted} >= {yes["id"]} and no["id"] not in {str(c) for c in greeted}


@pytest.mark.asyncio
class TestWinBacksTakeTheDesk:
    async def test_a_page_of_win_backs_is_assigned_and_published_set_based(self, app, client_for) -> None:
        """The win-backs of a page go in one INSERT, their events in another, and each is what the
        desk's one-by-one scheduling makes: the dealer's default win_back assignee and max_attempts,
        followup.scheduled and followup.assigned."""
        client = client_for("DLR-0043")
        etag = (await client.get("/v1/dealers/DLR-0043/desk-settings")).headers["ETag"]
        saved = await client.put("/v1/dealers/DLR-0043/desk-settings", headers={"If-Match": etag},
                                 json={"default_assignees": {"win_back": "CR01"}, "max_attempts": 2})
        assert saved.status_code == 200, saved.text
        called = [await customer(client, "DLR-0043", (months_ago(10), 400), marketing=True) for _ in range(2)]
        unconsented = await customer(client, "DLR-0043", (months_ago(10), 400))
        await standing.refresh_standing(app.state.sessions, NOW)
        inserts: list[str] = []

        def count(connection: object, cursor: object, statement: str, *args: object) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO"):
                inserts.append(statement.split()[2].strip('"'))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        try:
            made = await standing.make_win_backs(app.state.sessions, NOW)
        finally:
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
        assert made == 2 and sorted(inserts) == ["follow_ups", "outbox"]
        calls = [call for person in called for call in await win_backs(app, person["id"])]
        assert [(call.assignee, call.max_attempts, call.status, call.due_at) for call in calls] == [("CR01", 2, "open", NOW)] * 2
        assert await win_backs(app, unconsented["id"]) == []
        ids = {str(call.id) for call in calls}
        scheduled = {e["data"]["followup_id"]: e["data"] for e in await outbox_events(app, "followup.scheduled")}
        assigned = {e["data"]["followup_id"]: e["data"] for e in await outbox_events(app, "followup.assigned")}
        assert {(scheduled[i]["kind"], scheduled[i]["dealer_code"]) for i in ids} == {("win_back", "DLR-0043")}
        assert {assigned[i]["assignee"] for i in ids} == {"CR01"}
        assert {scheduled[i]["customer_id"] for i in ids} == {person["id"] for person in called}
        assert await standing.make_win_backs(app.state.sessions, NOW) == 0
