"""A dealer's desk settings and what they change: default assignees and max_attempts of new
tasks, service follow-ups for maintenance visits; and the holiday greeting job."""

import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import update

from services.customer import holidays
from services.customer.followups import create_holiday_followups
from services.customer.models import Staff
from services.customer.settings import CustomerSettings
from tests.customer.conftest import ClientFactory
from tests.customer.test_api_customers import create, outbox_events
from tests.customer.test_api_vehicles import visit_body
from tests.customer.test_followups import deliver, tasks
from tests.customer.test_followups_desk import add_staff, new_task

pytestmark = pytest.mark.asyncio

# DLR-0043's settings change here; every test puts the defaults back, so other tests see them.
DEALER = "DLR-0043"
URL = f"/v1/dealers/{DEALER}/desk-settings"


@pytest.fixture
async def sibling(client_for: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    client = client_for(DEALER)
    yield client
    current = await client.get(URL)
    reset = await client.put(URL, json={}, headers={"If-Match": current.headers["ETag"]})
    assert reset.status_code == 200, reset.text


async def put(client: httpx.AsyncClient, body: dict, url: str = URL) -> httpx.Response:
    etag = (await client.get(url)).headers["ETag"]
    return await client.put(url, json=body, headers={"If-Match": etag})


class TestSettings:
    async def test_defaults_then_versioned_replacement(self, sibling, app) -> None:
        agent = await add_staff(app, DEALER)
        unset = await sibling.get(URL)
        assert unset.status_code == 200 and unset.headers["ETag"] in ('"v0"', f'"v{unset.json()["version"]}"')
        if unset.json()["version"] == 0:
            assert unset.json() == {"dealer_code": DEALER, "default_assignees": {}, "maintenance_followups": False,
                                    "max_attempts": 3, "version": 0, "updated_at": None}
        body = {"default_assignees": {"service": agent}, "maintenance_followups": True, "max_attempts": 2}
        saved = await put(sibling, body)
        assert saved.status_code == 200, saved.text
        assert saved.json() | {"version": 0, "updated_at": None} == body | {
            "dealer_code": DEALER, "version": 0, "updated_at": None}
        assert (await sibling.get(URL)).json() == saved.json()
        assert saved.headers["ETag"] == f'"v{saved.json()["version"]}"'
        assert (await sibling.put(URL, json=body)).status_code == 428
        assert (await sibling.put(URL, json=body, headers={"If-Match": '"v0"'})).status_code == 412
        again = await sibling.put(URL, json={}, headers={"If-Match": saved.headers["ETag"]})
        assert again.status_code == 200 and again.json()["max_attempts"] == 3 and again.json()["default_assignees"] == {}

    @pytest.mark.parametrize(("body", "field"), [
        ({"default_assignees": {"service": "NOBODY"}}, "default_assignees.service"),
        ({"default_assignees": {"party": "X"}}, "default_assignees"),
        ({"default_assignees": {"service": ""}}, "default_assignees"),
        ({"max_attempts": 0}, "max_attempts"), ({"max_attempts": 11}, "max_attempts"),
        ({"maintenance_followups": "sometimes"}, "maintenance_followups"), ({"colour": "red"}, "colour"),
    ])
    async def test_bad_settings_are_422_naming_the_field_and_change_nothing(self, sibling, body, field) -> None:
        before = await sibling.get(URL)
        answer = await put(sibling, body)
        assert answer.status_code == 422, answer.text
        assert any(e["field"].startswith(field) for e in answer.json()["errors"]), answer.json()["errors"]
        assert (await sibling.get(URL)).json() == before.json()

    async def test_a_retired_or_other_dealers_staff_code_is_unknown(self, sibling, app) -> None:
        retired, elsewhere = await add_staff(app, DEALER, active=False), await add_staff(app, "DLR-0042")
        for code in (retired, elsewhere):
            answer = await put(sibling, {"default_assignees": {"new_car": code}})
            assert answer.status_code == 422
            assert answer.json()["errors"] == [{"field": "default_assignees.new_car", "message": "unknown staff member"}]

    async def test_the_dealer_and_those_above_it_only(self, sibling, client_for) -> None:
        for caller in ("DLR-0042", "DLR-0100", "D-SOUTH"):
            client = client_for(caller)
            assert (await client.get(URL)).status_code == 404, caller
            assert (await client.put(URL, json={}, headers={"If-Match": '"v0"'})).status_code == 404, caller
        for caller in ("D-NORTH", "FTMS"):
            assert (await client_for(caller).get(URL)).status_code == 200
        assert (await put(client_for("D-NORTH"), {"max_attempts": 5})).json()["max_attempts"] == 5
        assert (await sibling.get("/v1/dealers/D-NORTH/desk-settings")).status_code == 404
        assert (await client_for("FTMS").get("/v1/dealers/D-NORTH/desk-settings")).status_code == 422  # not a dealer
        assert (await sibling.get("/v1/dealers/NO-SUCH/desk-settings")).status_code == 404


class TestNewTasksTakeTheSettings:
    async def test_default_assignee_and_max_attempts_apply_when_a_task_is_made(self, sibling, app, client_for) -> None:
        agent, retired = await add_staff(app, DEALER), await add_staff(app, DEALER)
        assert (await put(sibling, {"default_assignees": {"new_car": agent, "service": retired},
                                    "max_attempts": 1})).status_code == 200
        task = await new_task(sibling, app, client_for, dealer_code=DEALER)
        assert (task["assignee"], task["max_attempts"]) == (agent, 1)
        [event] = [e for e in await outbox_events(app, "followup.assigned") if e["data"]["followup_id"] == task["id"]]
        assert event["data"]["assignee"] == agent and event["data"]["kind"] == "new_car"
        assert task["id"] in [t["id"] for t in await tasks(sibling, assignee=agent)]
        assert (await sibling.post(f"/v1/follow-ups/{task['id']}/attempts",
                                   json={"reached": False, "channel": "phone"})).json()["status"] == "unreachable"
        # A default assignee retired since it was set gets no new work: the task stays unassigned.
        async with app.state.sessions() as session, session.begin():
            await session.execute(update(Staff).where(Staff.code == retired).values(active=False))
        customer = await create(sibling, dealer_code=DEALER)
        visit = (await sibling.post("/v1/service-visits", json=visit_body(
            customer["id"], dealer_code=DEALER, closed_at="2026-06-01T08:00:00Z"))).json()
        await deliver(app, client_for, "service_visit.closed", "visit_id", visit["id"], times=1)
        [service] = await tasks(sibling, customer_id=customer["id"])
        assert service["assignee"] is None and service["max_attempts"] == 1
        assert not [e for e in await outbox_events(app, "followup.assigned") if e["data"]["followup_id"] == service["id"]]

    async def test_maintenance_visits_get_a_follow_up_only_when_the_dealer_says_so(self, sibling, app,
                                                                                  client_for) -> None:
        async def maintenance_tasks(n: int) -> list[dict]:
            customer = await create(sibling, dealer_code=DEALER)
            visit = (await sibling.post("/v1/service-visits", json=visit_body(
                customer["id"], n=n, dealer_code=DEALER, visit_type="maintenance",
                closed_at="2026-06-01T08:00:00Z"))).json()
            await deliver(app, client_for, "service_visit.closed", "visit_id", visit["id"])
            return await tasks(sibling, customer_id=customer["id"])

        assert await maintenance_tasks(1) == []
        assert (await put(sibling, {"maintenance_followups": True})).status_code == 200
        [task] = await maintenance_tasks(2)
        assert task["kind"] == "service" and task["due_at"].startswith("2026-06-04T08:00:00")
        assert (await put(sibling, {"maintenance_followups": False})).status_code == 200
        assert await maintenance_tasks(3) == []


GREETINGS = frozenset(CustomerSettings().holiday_greetings)


async def holiday_pass(app, today: date, lead_days: int = 3) -> int:
    return await create_holiday_followups(app.state.sessions, today, lead_days, GREETINGS)


class TestHolidayGreetings:
    async def test_tasks_only_for_consenting_customers_once_per_holiday(self, dealer, app) -> None:
        consent = {"survey": True, "marketing": True, "share_with_manufacturer": False}
        yes = await create(dealer, consent=consent)
        no = await create(dealer)
        erased = await create(dealer, consent=consent)
        assert (await dealer.post(f"/v1/customers/{erased['id']}/erase")).status_code < 300
        # Mid-autumn Festival 2026 starts on 25 September; the pass three days ahead makes its tasks.
        assert await holiday_pass(app, date(2026, 9, 22)) >= 1
        for day in (23, 25):  # every later pass, the holiday's first day included, makes nothing new
            assert await holiday_pass(app, date(2026, 9, day)) == 0
        [task] = await tasks(dealer, customer_id=yes["id"], kind="holiday")
        assert task["due_at"].startswith("2026-09-25T00:00:00") and task["status"] == "open"
        assert await tasks(dealer, customer_id=no["id"]) == []
        assert await tasks(dealer, customer_id=erased["id"]) == []
        # National Day (1 October) is beyond the lead; Tomb-sweeping Day is not a greeting.
        assert await holiday_pass(app, date(2026, 9, 26)) == 0
        assert await holiday_pass(app, date(2026, 4, 3)) == 0
        await holiday_pass(app, date(2026, 9, 30))
        assert sorted(t["due_at"][:10] for t in await tasks(dealer, customer_id=yes["id"], kind="holiday")) == [
            "2026-09-25", "2026-10-01"]

    async def test_a_year_the_calendar_does_not_cover_is_greeted_on_its_festival_days_and_warns_once(
            self, dealer, app, caplog) -> None:
        customer = await create(dealer, consent={"survey": True, "marketing": True, "share_with_manufacturer": False})
        year = holidays.COVERED_YEARS.stop
        spring_festival = holidays.festival_day("Spring Festival", year)
        with caplog.at_level(logging.WARNING, logger="csloop.customer.holidays"):
            assert await holiday_pass(app, spring_festival - timedelta(days=3), lead_days=3) >= 1
            assert await holiday_pass(app, spring_festival - timedelta(days=2), lead_days=3) == 0
        [task] = await tasks(dealer, customer_id=customer["id"], kind="holiday")
        assert task["due_at"].startswith(spring_festival.isoformat())
        warnings = [r for r in caplog.records if str(year) in r.getMessage()]
        assert len(warnings) == 1 and "chinesecalendar" in warnings[0].getMessage()


async def test_an_occurrence_is_known_by_the_same_year_from_either_calendar() -> None:
    """So a greeting made from the lunar calendar is not made again once the package covers the
    year: every official occurrence's festival day (lunar or solar) lies at or just after its first
    day off, and names the same year."""
    for holiday in holidays.holidays_starting(date(2019, 1, 1), date(2026, 12, 31), GREETINGS):
        festival = holidays.festival_day(holiday.name, holiday.year)
        assert festival is not None and timedelta(days=-1) <= festival - holiday.greet_on <= timedelta(days=10), holiday
    assert holidays.festival_day("Spring Festival", 2026) == date(2026, 2, 17)
    assert holidays.festival_day("Mid-autumn Festival", 2027) == date(2027, 9, 15)
    assert holidays.festival_day("Tomb-sweeping Day", 2027) == date(2027, 4, 5)


async def test_a_holiday_inside_another_keeps_both_first_days() -> None:
    """In 2025 Mid-autumn Festival's day off (6 October) lies inside National Day's week."""
    found = holidays.holidays_starting(date(2025, 9, 28), date(2025, 10, 10), GREETINGS)
    assert found == [("National Day", date(2025, 10, 1), 2025), ("Mid-autumn Festival", date(2025, 10, 6), 2025)]
    # New Year's Day 2023 started on 31 December 2022: the occurrence of 2023.
    assert holidays.holidays_starting(date(2022, 12, 29), date(2023, 1, 2), GREETINGS) == [
        ("New Year's Day", date(2022, 12, 31), 2023)]
