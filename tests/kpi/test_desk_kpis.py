"""The CR desk's KPIs (KPI.md, issue 14): follow-up contact and dissatisfied rates, appointment show
rate and lead days, repair lead hours, against hand-computed figures at dealer, distributor and
manufacturer level (pooled from counts and sums: each pooled figure below differs from the mean
of its children's), in the summary, rankings and trends, with late and repeated events.

The tree: OEM > DN > (D1, D2), OEM > DS > D3.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import create_engine
from tests.kpi.conftest import ORGS, SECRET, as_, deliver, summary

DESK_KPIS = ("followup_on_time", "followup_contact_rate", "followup_dissatisfied_rate", "appointment_show_rate",
             "appointment_lead_days", "repair_lead_hours")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def figure(kpis: dict[str, Any], kpi: str) -> tuple[float | None, int]:
    return kpis[kpi]["value"], kpis[kpi]["n"]


# --- follow-ups ---------------------------------------------------------------------------------


class Task:
    """One follow-up's events as the customer service publishes them."""

    def __init__(self, client: Any, dealer: str, kind: str, due: datetime) -> None:
        self.client, self.due = client, due
        self.common = {"followup_id": str(uuid.uuid4()), "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
                       "kind": kind}

    async def schedule(self) -> "Task":
        await deliver(self.client, "followup.scheduled", {**self.common, "due_at": self.due.isoformat()})
        return self

    async def assign(self, assignee: str, at: datetime) -> None:
        await deliver(self.client, "followup.assigned", {**self.common, "due_at": self.due.isoformat(),
                                                         "assignee": assignee, "assigned_at": at.isoformat()})

    async def complete(self, at: datetime, satisfaction: str | None = "satisfied", *, reached: bool = True,
                       assignee: str | None = "CR01", event_id: str | None = None) -> str:
        return await deliver(self.client, "followup.completed", {
            **self.common, "outcome": "reached", "completed_at": at.isoformat(), "due_at": self.due.isoformat(),
            "assignee": assignee, "attempts": 1, "reached": reached, "satisfaction": satisfaction,
            "issue_codes": ["not_fixed"] if satisfaction == "dissatisfied" else []}, event_id)

    async def complete_legacy(self, at: datetime) -> None:
        """`POST /v1/follow-ups/{id}/complete` as before the desk: an outcome text, nothing of a call."""
        await deliver(self.client, "followup.completed", {**self.common, "outcome": "客户满意",
                                                          "completed_at": at.isoformat()})

    async def unreachable(self, at: datetime) -> None:
        await deliver(self.client, "followup.unreachable", {
            **self.common, "due_at": self.due.isoformat(), "assignee": "CR01", "attempts": 3,
            "unreachable_at": at.isoformat()})


DUE = t(2003, 4, 10, 12)
EARLY, LATE = DUE - timedelta(hours=3), DUE + timedelta(hours=3)


@pytest.fixture(scope="module")
async def followups(client) -> dict[str, Task]:
    """April 2003 (long past: a task still open counts against):

    D1: a service done satisfied; b new_car done dissatisfied; c prospect unreachable before its due
        time; d recall still open; e birthday and f holiday (greetings) done and unreachable.
    D2: g win_back done by the legacy /complete; h service done dissatisfied, late; i service
        unreachable after its due time; m service done satisfied; n service reached but not by a
        call of its own (reached false: done, not contacted).
    D3: j service done neutral; k new_car done dissatisfied.
    """
    tasks = {name: await Task(client, dealer, kind, DUE).schedule() for name, dealer, kind in (
        ("a", "D1", "service"), ("b", "D1", "new_car"), ("c", "D1", "prospect"), ("d", "D1", "recall"),
        ("e", "D1", "birthday"), ("f", "D1", "holiday"), ("g", "D2", "win_back"), ("h", "D2", "service"),
        ("i", "D2", "service"), ("m", "D2", "service"), ("n", "D2", "service"), ("j", "D3", "service"),
        ("k", "D3", "new_car"))}
    await tasks["a"].complete(EARLY)
    await tasks["b"].complete(EARLY, "dissatisfied")
    await tasks["c"].unreachable(EARLY)
    await tasks["e"].complete(EARLY, None)
    await tasks["f"].unreachable(EARLY)
    await tasks["g"].complete_legacy(EARLY)
    await tasks["h"].complete(LATE, "dissatisfied")
    await tasks["i"].unreachable(LATE)
    await tasks["m"].complete(EARLY)
    await tasks["n"].complete(EARLY, None, reached=False)
    await tasks["j"].complete(EARLY, "neutral")
    await tasks["k"].complete(EARLY, "dissatisfied")
    return tasks


class TestFollowUpRates:
    async def test_contact_rate_at_every_level(self, client, followups):
        # Calls only (greetings e, f out); done, unreachable or open past due: D1 a b c d, D2 g h i m n, D3 j k.
        expected = {"D1": (50.0, 4),  # a, b reached
                    "D2": (60.0, 5),  # g (legacy: reached), h, m; not i (unreachable), n (not reached)
                    "DN": (55.6, 9),  # 5 of 9, where the dealers' mean would be 55.0
                    "D3": (100.0, 2), "DS": (100.0, 2),
                    "OEM": (63.6, 11)}  # 7 of 11 (the distributors' mean: 77.8)
        for org, value in expected.items():
            assert figure(await summary(client, org, "2003-04"), "followup_contact_rate") == value, org

    async def test_dissatisfied_rate_over_reached_calls(self, client, followups):
        expected = {"D1": (50.0, 2),  # b of a, b
                    "D2": (33.3, 3),  # h of g, h, m (the legacy completion is reached, not dissatisfied)
                    "DN": (40.0, 5),  # 2 of 5 (the dealers' mean: 41.7)
                    "D3": (50.0, 2), "DS": (50.0, 2),
                    "OEM": (42.9, 7)}  # 3 of 7
        for org, value in expected.items():
            assert figure(await summary(client, org, "2003-04"), "followup_dissatisfied_rate") == value, org

    async def test_on_time_counts_unreachable_before_the_due_time_and_every_kind(self, client, followups):
        # D1: a b c e f on time (c, f unreachable before due), d open past due: 5 of 6, greetings included.
        assert figure(await summary(client, "D1", "2003-04"), "followup_on_time") == (83.3, 6)
        # D2: g m n on time, h done late, i unreachable late.
        assert figure(await summary(client, "D2", "2003-04"), "followup_on_time") == (60.0, 5)
        assert figure(await summary(client, "DN", "2003-04"), "followup_on_time") == (72.7, 11)

    async def test_greetings_alone_give_no_rate(self, client):
        birthday = await Task(client, "D3", "birthday", t(2006, 2, 1)).schedule()
        holiday = await Task(client, "D3", "holiday", t(2006, 2, 1)).schedule()
        await birthday.complete(t(2006, 1, 31), "dissatisfied")
        await holiday.unreachable(t(2006, 1, 31))
        kpis = await summary(client, "D3", "2006-02")
        assert figure(kpis, "followup_contact_rate") == (None, 0)
        assert figure(kpis, "followup_dissatisfied_rate") == (None, 0)
        assert figure(kpis, "followup_on_time") == (100.0, 2)

    async def test_an_open_task_counts_only_once_its_due_time_has_passed(self, client):
        future = t(2097, 6, 15)
        await Task(client, "D3", "service", future).schedule()  # open, not due yet: not counted
        done = await Task(client, "D3", "service", future).schedule()
        await done.complete(future - timedelta(days=1))
        kpis = await summary(client, "D3", "2097-06")
        assert figure(kpis, "followup_contact_rate") == (100.0, 1)
        assert figure(kpis, "followup_on_time") == (100.0, 1)
        # In the past, the same open task counts against (d above, and here).
        await Task(client, "D3", "service", t(2007, 6, 15)).schedule()
        assert figure(await summary(client, "D3", "2007-06"), "followup_contact_rate") == (0.0, 1)

    async def test_late_and_repeated_events_count_once(self, client):
        due = t(2008, 9, 10)
        task = Task(client, "D1", "service", due)
        # The completion first, then the schedule it overtook, then the same completion again under a
        # new event id and under its own, then an `unreachable` that lost the race with the completion.
        event_id = str(uuid.uuid4())
        assert await task.complete(due - timedelta(hours=1), "dissatisfied", event_id=event_id) == "applied"
        await task.schedule()
        assert await task.complete(due - timedelta(hours=1), "dissatisfied") == "applied"
        assert await task.complete(due - timedelta(hours=1), "dissatisfied", event_id=event_id) == "duplicate"
        await task.unreachable(due + timedelta(days=1))
        kpis = await summary(client, "D1", "2008-09")
        assert figure(kpis, "followup_contact_rate") == (100.0, 1)
        assert figure(kpis, "followup_dissatisfied_rate") == (100.0, 1)
        assert figure(kpis, "followup_on_time") == (100.0, 1)
        # Unreachable first, reached after all: the completion wins.
        late = await Task(client, "D1", "service", due).schedule()
        await late.unreachable(due - timedelta(hours=2))
        await late.complete(due - timedelta(hours=1))
        assert figure(await summary(client, "D1", "2008-09"), "followup_contact_rate") == (100.0, 2)

    async def test_the_fact_keeps_the_assignee_of_the_latest_word(self, client, database_url):
        due = t(2009, 3, 3)
        task = await Task(client, "D2", "service", due).schedule()
        await task.assign("CR02", due - timedelta(days=2))
        await task.assign("CR01", due - timedelta(days=3))  # an older assignment delivered late
        reassigned = await Task(client, "D2", "service", due).schedule()
        await reassigned.assign("CR02", due - timedelta(days=2))
        await reassigned.complete(due, assignee="CR03")
        await reassigned.assign("CR04", due - timedelta(days=1))  # late: before the completion
        assert await _assignees(database_url, task, reassigned) == ["CR02", "CR03"]


async def _assignees(database_url: str, *tasks: Task) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            out = []
            for task in tasks:
                key = uuid.UUID(task.common["followup_id"])
                out.append((await connection.execute(text("SELECT assignee FROM kpi_followups WHERE followup_id = :id"),
                                                     {"id": key.hex if database_url.startswith("sqlite") else key})).scalar())
            return out
    finally:
        await engine.dispose()


# --- appointments -------------------------------------------------------------------------------


async def book(client: Any, dealer: str, requested: datetime, slot: datetime, booked: datetime,
               *changes: tuple[str, datetime], appointment_id: str | None = None) -> dict[str, Any]:
    """appointment.changed for the booking, then one per status change, in that order."""
    data = {"appointment_id": appointment_id or str(uuid.uuid4()), "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
            "customer_id": str(uuid.uuid4()), "vin": None, "status": "booked", "requested_at": requested.isoformat(),
            "slot_at": slot.isoformat(), "service_type": "maintenance", "advisor": "SA01",
            "booked_at": booked.isoformat(), "changed_at": booked.isoformat()}
    await deliver(client, "appointment.changed", data)
    for status, at in changes:
        data = {**data, "status": status, "changed_at": at.isoformat()}
        await deliver(client, "appointment.changed", data)
    return data


@pytest.fixture(scope="module")
async def appointments(client) -> None:
    """March 2004. Lead days = (slot - requested) in days, by booking (creation) time.

    D1: A1 booked 03-01, 3 days, arrived; A2 booked 03-02, 10 days, no-show; A3 booked 03-05, half a day,
        still booked (slot 03-06); A4 booked 03-03, 17 days, cancelled; A5 booked in February, 12 days,
        arrived on 03-08.
    D2: B1 1 day, arrived; B2 2 days, arrived.
    D3: C1 booked 03-01 for 04-01 (31 days), still booked.
    """
    d = lambda *a: t(2004, *a)  # noqa: E731
    arrived = await book(client, "D1", d(3, 1, 9), d(3, 4, 9), d(3, 1, 9), ("arrived", d(3, 4, 9)))
    await deliver(client, "appointment.changed", {**arrived, "status": "booked",  # the booking again, late
                                                  "changed_at": d(3, 1, 9).isoformat()})
    no_show = await book(client, "D1", d(3, 2), d(3, 12), d(3, 2), ("no_show", d(3, 12, 18)))
    await deliver(client, "appointment.changed", no_show)  # the same change again, under a new event id
    await book(client, "D1", d(3, 5, 12), d(3, 6), d(3, 5, 12))
    await book(client, "D1", d(3, 3), d(3, 20), d(3, 3), ("cancelled", d(3, 10)))
    await book(client, "D1", d(2, 25), d(3, 8), d(2, 25), ("arrived", d(3, 8)))
    await book(client, "D2", d(3, 10), d(3, 11), d(3, 10), ("arrived", d(3, 11)))
    await book(client, "D2", d(3, 15), d(3, 17), d(3, 15), ("arrived", d(3, 17)))
    await book(client, "D3", d(3, 1), d(4, 1), d(3, 1))


class TestAppointments:
    async def test_show_rate_over_arrived_and_no_show_by_slot(self, client, appointments):
        expected = {"D1": (66.7, 3),  # A1, A5 of A1, A2, A5 (A3 booked, A4 cancelled: not counted)
                    "D2": (100.0, 2), "DN": (80.0, 5),  # 4 of 5 (the dealers' mean: 83.3)
                    "D3": (None, 0), "DS": (None, 0), "OEM": (80.0, 5)}
        for org, value in expected.items():
            assert figure(await summary(client, org, "2004-03"), "appointment_show_rate") == value, org

    async def test_lead_days_by_booking_time_without_cancelled(self, client, appointments):
        expected = {"D1": (4.5, 3),  # (3 + 10 + 0.5) / 3: A5 was booked in February, A4 cancelled
                    "D2": (1.5, 2), "DN": (3.3, 5),  # 16.5 / 5 (the dealers' mean: 3.0)
                    "D3": (31.0, 1), "DS": (31.0, 1), "OEM": (7.9, 6)}  # 47.5 / 6
        for org, value in expected.items():
            assert figure(await summary(client, org, "2004-03"), "appointment_lead_days") == value, org
        february = await summary(client, "D1", "2004-02")
        assert figure(february, "appointment_lead_days") == (12.0, 1)
        assert figure(february, "appointment_show_rate") == (None, 0)

    async def test_rankings_trends_and_a_target(self, client, appointments):
        ranking = (await client.get("/v1/kpi/rankings", params={"kpi": "appointment_show_rate", "period": "2004-03",
                                                                "level": "distributor"}, headers=as_("OEM"))).json()
        assert [(i["org_code"], i["value"], i["n"]) for i in ranking["items"]] == [("DN", 80.0, 5)]
        ranking = (await client.get("/v1/kpi/rankings", params={"kpi": "appointment_lead_days", "period": "2004-03",
                                                                "level": "dealer"}, headers=as_("OEM"))).json()
        assert {i["org_code"]: (i["value"], i["n"]) for i in ranking["items"]} == {
            "D1": (4.5, 3), "D2": (1.5, 2), "D3": (31.0, 1)}
        assert ranking["items"][-1]["org_code"] == "D3"  # lower is better: the longest wait ranks last
        trend = (await client.get("/v1/kpi/trends", params={"kpi": "appointment_lead_days", "org_code": "D1",
                                                            "from": "2004-02", "to": "2004-04"}, headers=as_("OEM"))).json()
        assert [(p["period"], p["value"], p["n"]) for p in trend["points"]] == [
            ("2004-02", 12.0, 1), ("2004-03", 4.5, 3), ("2004-04", None, 0)]
        admin = as_("OEM", frozenset({"kpi:read", "kpi:write"}))
        for target, met in ((5, True), (4, False)):  # lower is better: 4.5 days meets 5, not 4
            body = {"org_code": "D1", "kpi": "appointment_lead_days", "period": "2004-03", "target": target}
            assert (await client.put("/v1/kpi/targets", json=body, headers=admin)).status_code == 200
            assert (await summary(client, "D1", "2004-03"))["appointment_lead_days"]["met"] is met


# --- repair lead time ---------------------------------------------------------------------------


async def closed_visit(client: Any, dealer: str, type_: str, closed: datetime, opened: datetime | None) -> None:
    await deliver(client, "service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": str(uuid.uuid4()), "ro_number": "RO-7",
        "vin": "LFV3A23C7K3000077", "customer_id": str(uuid.uuid4()), "visit_type": type_,
        "opened_at": opened.isoformat() if opened else None, "closed_at": closed.isoformat(), "symptom_codes": []})


class TestRepairLeadHours:
    async def test_repair_and_warranty_visits_by_close_time(self, client):
        d = lambda *a: t(2005, *a)  # noqa: E731
        await closed_visit(client, "D1", "repair", d(6, 1, 12), d(6, 1, 8))  # 4 h
        await closed_visit(client, "D1", "warranty", d(6, 3, 10), d(6, 2, 10))  # 24 h
        await closed_visit(client, "D1", "maintenance", d(6, 4, 12), d(6, 4, 10))  # not a repair
        await closed_visit(client, "D1", "recall", d(6, 4, 12), d(6, 1, 10))  # not a repair
        await closed_visit(client, "D1", "repair", d(6, 5, 12), None)  # no open time: no lead time
        await closed_visit(client, "D2", "repair", d(6, 2, 18), d(6, 2, 8))  # 10 h
        await closed_visit(client, "D3", "repair", d(6, 7, 14), d(6, 7, 8))  # 6 h
        await closed_visit(client, "D3", "repair", d(6, 1, 4), d(5, 31, 20))  # 8 h, opened in May
        await closed_visit(client, "D3", "repair", d(7, 1, 4), d(6, 30, 20))  # closed in July
        expected = {"D1": (14.0, 2), "D2": (10.0, 1), "DN": (12.7, 3),  # 38 / 3 (the dealers' mean: 12.0)
                    "D3": (7.0, 2), "DS": (7.0, 2), "OEM": (10.4, 5)}  # 52 / 5
        for org, value in expected.items():
            assert figure(await summary(client, org, "2005-06"), "repair_lead_hours") == value, org
        ranking = (await client.get("/v1/kpi/rankings", params={"kpi": "repair_lead_hours", "period": "2005-06",
                                                                "level": "distributor"}, headers=as_("OEM"))).json()
        assert {i["org_code"]: (i["value"], i["n"]) for i in ranking["items"]} == {"DN": (12.7, 3), "DS": (7.0, 2)}


# --- rebuild ------------------------------------------------------------------------------------


class TestRebuild:
    async def test_a_rebuild_gives_the_same_desk_figures(self, client, followups, appointments):
        periods = [(org, period) for org in ORGS for period in ("2003-04", "2004-02", "2004-03", "2004", "2005-06",
                                                                "2006-02", "2008-09", "2097-06")]
        before = [await summary(client, org, period) for org, period in periods]
        assert before[periods.index(("OEM", "2004-03"))]["appointment_lead_days"]["n"] == 6
        token = mint_internal_token(system_principal(), SECRET)
        answer = await client.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: token})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rebuilt"]["appointments"] >= 8
        after = [await summary(client, org, period) for org, period in periods]
        for (org, period), old, new in zip(periods, before, after, strict=True):
            assert {k: new[k] for k in DESK_KPIS} == {k: old[k] for k in DESK_KPIS}, (org, period)
        assert after == before
