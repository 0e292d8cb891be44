"""Follow-up tasks made from events (delivered through /internal/events), prospects, birthdays."""

from datetime import date, datetime, timedelta

import httpx
import pytest

from services.customer.followups import create_birthday_followups
from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events
from tests.customer.test_api_vehicles import visit_body

pytestmark = pytest.mark.asyncio


async def deliver(app, client_for: ClientFactory, type_: str, subject_key: str, value: str, times: int = 2) -> None:
    """Do what the relay does: POST the recorded event to /internal/events (here twice)."""
    relay = client_for("system")
    [event] = [e for e in await outbox_events(app, type_) if e["data"][subject_key] == value]
    for _ in range(times):
        response = await relay.post("/internal/events", json=event)
        assert response.status_code == 200, response.text


async def tasks(client: httpx.AsyncClient, **params: str) -> list[dict]:
    return (await client.get("/v1/follow-ups", params={"limit": 500, **params})).json()["items"]


class TestTasksFromEvents:
    async def test_delivery_makes_one_new_car_follow_up_even_if_delivered_twice(self, dealer, app, client_for) -> None:
        customer = await create(dealer)
        vin = vin_with_check_digit()
        await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                                  "delivered_at": "2026-05-01T10:00:00Z"})
        await deliver(app, client_for, "vehicle.delivered", "vin", vin)
        [task] = await tasks(dealer, customer_id=customer["id"])
        assert task["kind"] == "new_car" and task["status"] == "open" and task["vin"] == vin
        assert task["due_at"].startswith("2026-05-04T10:00:00")

    async def test_closed_repair_makes_service_follow_up_but_maintenance_does_not(self, dealer, app, client_for) -> None:
        customer = await create(dealer)
        repair = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"], n=1, closed_at="2026-06-01T08:00:00Z"))).json()
        upkeep = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"], n=2, visit_type="maintenance",
                                                                         closed_at="2026-06-01T08:00:00Z"))).json()
        await deliver(app, client_for, "service_visit.closed", "visit_id", repair["id"])
        await deliver(app, client_for, "service_visit.closed", "visit_id", upkeep["id"])
        [task] = await tasks(dealer, customer_id=customer["id"])
        assert task["kind"] == "service" and task["ro_number"] == repair["ro_number"]
        assert task["due_at"].startswith("2026-06-04T08:00:00")

    async def test_events_endpoint_refuses_non_service_callers(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/internal/events", json={"source": "/x", "type": "vehicle.delivered", "data": {}})
        assert response.status_code == 403


class TestProspects:
    async def test_prospect_gets_a_call_by_level_and_level_change_moves_it(self, dealer, app, client_for) -> None:
        created = await dealer.post("/v1/prospects", json={"name": "Walk-in Wu", "phone": "13900001111", "level": "H",
                                                           "intended_model": "RAV4", "source": "showroom"})
        assert created.status_code == 201, created.text
        prospect = created.json()
        await deliver(app, client_for, "prospect.created", "prospect_id", prospect["id"])
        [task] = [t for t in await tasks(dealer, kind="prospect") if t["prospect_id"] == prospect["id"]]
        first_due = datetime.fromisoformat(task["due_at"])
        assert timedelta(days=1, hours=23) < first_due - datetime.fromisoformat(prospect["created_at"]) <= timedelta(days=2, seconds=5)
        changed = await dealer.patch(f"/v1/prospects/{prospect['id']}", json={"level": "C"}, headers={"If-Match": '"v1"'})
        assert changed.status_code == 200
        await deliver(app, client_for, "prospect.updated", "prospect_id", prospect["id"])
        [task] = [t for t in await tasks(dealer, kind="prospect") if t["prospect_id"] == prospect["id"]]
        assert datetime.fromisoformat(task["due_at"]) - first_due > timedelta(days=11)

    async def test_completing_a_prospect_call_schedules_the_next(self, dealer, app, client_for) -> None:
        prospect = (await dealer.post("/v1/prospects", json={"name": "Lead Li", "level": "A"})).json()
        await deliver(app, client_for, "prospect.created", "prospect_id", prospect["id"])
        [task] = [t for t in await tasks(dealer, kind="prospect") if t["prospect_id"] == prospect["id"]]
        done = await dealer.post(f"/v1/follow-ups/{task['id']}/complete", json={"outcome": "reached", "note": "test drive Sat"})
        assert done.status_code == 200 and done.json()["status"] == "done"
        mine = [t for t in await tasks(dealer, kind="prospect") if t["prospect_id"] == prospect["id"]]
        assert sorted(t["status"] for t in mine) == ["done", "open"]

    @pytest.mark.parametrize("body", [{"name": "X", "level": "Z"}, {"name": "X", "level": "H", "phone": "1"},
                                      {"level": "H"}, {"name": "X", "level": "H", "budget": 1}])
    async def test_bad_prospect_is_422(self, dealer: httpx.AsyncClient, body: dict) -> None:
        assert (await dealer.post("/v1/prospects", json=body)).status_code == 422


class TestCompletion:
    async def _task(self, dealer, app, client_for) -> dict:
        customer = await create(dealer)
        vin = vin_with_check_digit()
        await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                                  "delivered_at": "2026-05-01T10:00:00Z"})
        await deliver(app, client_for, "vehicle.delivered", "vin", vin, times=1)
        [task] = await tasks(dealer, customer_id=customer["id"])
        return task

    async def test_complete_records_outcome_and_event_and_cannot_repeat(self, dealer, app, client_for) -> None:
        task = await self._task(dealer, app, client_for)
        url = f"/v1/follow-ups/{task['id']}/complete"
        done = await dealer.post(url, json={"outcome": "satisfied", "note": "likes the car"})
        assert done.status_code == 200
        assert (done.json()["outcome"], done.json()["note"]) == ("satisfied", "likes the car")
        assert [e for e in await outbox_events(app, "followup.completed") if e["data"]["followup_id"] == task["id"]]
        assert (await dealer.post(url, json={"outcome": "again"})).status_code == 409

    async def test_bad_completion_is_422_and_task_stays_open(self, dealer, app, client_for) -> None:
        task = await self._task(dealer, app, client_for)
        url = f"/v1/follow-ups/{task['id']}/complete"
        for body in ({}, {"outcome": ""}, {"outcome": "ok", "mood": "x"}, {"outcome": 5}):
            assert (await dealer.post(url, json=body)).status_code == 422
        assert (await dealer.get(f"/v1/follow-ups/{task['id']}")).json()["status"] == "open"

    async def test_other_dealer_cannot_see_or_complete_the_task(self, dealer, app, client_for) -> None:
        task = await self._task(dealer, app, client_for)
        other = client_for("DLR-0043")
        assert (await other.get(f"/v1/follow-ups/{task['id']}")).status_code == 404
        assert (await other.post(f"/v1/follow-ups/{task['id']}/complete", json={"outcome": "x"})).status_code == 404
        assert task["id"] not in [t["id"] for t in await tasks(other)]
        assert task["id"] in [t["id"] for t in await tasks(client_for("FTMS"), dealer_code="DLR-0042", status="open")]

    async def test_due_before_filters(self, dealer, app, client_for) -> None:
        task = await self._task(dealer, app, client_for)
        assert task["id"] not in [t["id"] for t in await tasks(dealer, due_before="2026-05-04T09:00:00Z")]
        assert task["id"] in [t["id"] for t in await tasks(dealer, due_before="2026-05-04T11:00:00Z")]


class TestBirthdays:
    async def test_birthday_job_makes_one_task_per_customer_per_year(self, dealer, app) -> None:
        # A greeting is marketing contact: only customers who accept it (tests/customer/test_lifecycle.py).
        marketing = {"survey": True, "marketing": True, "share_with_manufacturer": True}
        customer = await create(dealer, birth_date="1990-02-28", consent=marketing)
        leap = await create(dealer, birth_date="1992-02-29", consent=marketing)
        today = date(2031, 2, 28)
        for _ in range(2):
            async with app.state.sessions() as session, session.begin():
                await create_birthday_followups(session, today)
        for someone in (customer, leap):
            [task] = await tasks(dealer, customer_id=someone["id"], kind="birthday")
            assert task["due_at"].startswith("2031-02-28")

    async def test_erasure_cancels_open_tasks_and_says_so(self, dealer, app, client_for) -> None:
        """followup.cancelled takes the task out of the follow-up KPIs, which would otherwise count
        it as open past its due time for ever."""
        customer = await create(dealer)
        vin = vin_with_check_digit()
        await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                                  "delivered_at": "2026-05-01T10:00:00Z"})
        await deliver(app, client_for, "vehicle.delivered", "vin", vin)
        [task] = await tasks(dealer, customer_id=customer["id"])
        await dealer.post(f"/v1/customers/{customer['id']}/erase")
        [cancelled] = await tasks(dealer, customer_id=customer["id"])
        assert cancelled["status"] == "cancelled"
        [event] = [e for e in await outbox_events(app, "followup.cancelled") if e["data"]["followup_id"] == task["id"]]
        assert event["data"]["kind"] == "new_car" and event["data"]["due_at"].startswith("2026-05-04T10:00:00")

    async def test_erased_customer_gets_no_birthday_task(self, dealer, app) -> None:
        customer = await create(dealer, birth_date="1990-03-03",
                                consent={"survey": True, "marketing": True, "share_with_manufacturer": True})
        await dealer.post(f"/v1/customers/{customer['id']}/erase")
        async with app.state.sessions() as session, session.begin():
            await create_birthday_followups(session, date(2031, 3, 3))
        assert await tasks(dealer, customer_id=customer["id"]) == []
