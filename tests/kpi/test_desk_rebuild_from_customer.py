"""A rebuild of the desk's KPIs from the real customer service's records (`/internal/facts/followups`
and `/appointments`) gives what their events gave: how a task ended, when an unreachable one was
given up on (its last call), an appointment booked at its creation. In process, rows written as
the desk and the appointment book leave them (their endpoints are other modules' work)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.customer.app import create_app as create_customer_app
from services.customer.models import Appointment, FollowUp, FollowUpAttempt
from services.customer.settings import CustomerSettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from tests.kpi.conftest import ORGS, SECRET, as_
from tests.kpi.in_process import running_kpi
from tests.security.test_fir_cannot_be_sabotaged_by_another_dealer import Sources
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

DUE = datetime(2011, 4, 12, 12, tzinfo=UTC)
MAY = datetime(2011, 5, 12, 12, tzinfo=UTC)
DESK_KPIS = ("followup_on_time", "followup_contact_rate", "followup_dissatisfied_rate", "appointment_show_rate",
             "appointment_lead_days")


@pytest.fixture(scope="module")
async def apps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, httpx.AsyncClient, httpx.AsyncClient]]:
    settings = CustomerSettings(database_url=await unit_database_url(tmp_path_factory, "customer_desk_feed"),
                                internal_secret=SECRET, relay_enabled=False, birthday_job_enabled=False,
                                log_json=False, log_level="WARNING")
    customer_app = create_customer_app(settings, migrate=True, org_directory=stand_in_directory(ORGS, SECRET))
    async with customer_app.router.lifespan_context(customer_app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(customer_app), base_url="http://customer.test") as customer, \
            running_kpi(await unit_database_url(tmp_path_factory, "kpi_desk_feed"), SECRET, ORGS,
                        source_transport=Sources(customer_app), customer_url="http://customer.test",
                        survey_url="http://survey.test", complaint_url="http://complaint.test") as (_, kpi, _):
        yield customer_app, customer, kpi


async def _customer(client: httpx.AsyncClient, dealer: str) -> uuid.UUID:
    org = ORGS[dealer]
    principal = Principal(f"key-{dealer}", dealer, org["path"], org["kind"], (), frozenset({"customers:write"}))
    answer = await client.post("/v1/customers", headers={INTERNAL_HEADER: mint_internal_token(principal, SECRET)}, json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer, "name": "李娜", "phone": "13912345678"})
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


def _owned(dealer: str, at: datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "created_at": at, "updated_at": at}


async def _event(kpi: httpx.AsyncClient, type_: str, data: dict[str, Any]) -> None:
    _, outcome = await post_event(kpi, SECRET, type_, data, source="/csloop/customer")
    assert outcome == "applied"


async def test_a_rebuild_from_the_customer_service_gives_the_figures_of_its_events(apps) -> None:
    customer_app, customer, kpi = apps
    who = {dealer: await _customer(customer, dealer) for dealer in ("D1", "D2")}
    booked = DUE - timedelta(days=5)
    tasks = [  # dealer, kind, status, completed, reached, satisfaction, last call
        ("D1", "service", "done", DUE - timedelta(hours=1), True, "dissatisfied", None),
        ("D1", "new_car", "done", DUE - timedelta(hours=1), None, None, None),  # the legacy /complete
        # Given up with the last call, which sets the completion time (services/customer/followups.py).
        ("D1", "recall", "unreachable", DUE - timedelta(hours=2), False, None, DUE - timedelta(hours=2)),  # on time
        ("D2", "service", "unreachable", DUE + timedelta(hours=2), False, None, DUE + timedelta(hours=2)),
        ("D2", "birthday", "done", DUE, True, None, None),
        ("D2", "win_back", "open", None, None, None, None),
        # Cancelled (the customer erased) in May: out of every follow-up figure, by event and by rebuild.
        ("D2", "service", "cancelled", None, None, None, None),
    ]
    appointments = [  # dealer, status, requested, slot
        ("D1", "arrived", booked, DUE), ("D1", "no_show", booked, DUE + timedelta(days=1)),
        ("D2", "cancelled", booked, DUE), ("D2", "booked", booked + timedelta(hours=12), DUE),
    ]
    async with customer_app.state.sessions() as session, session.begin():
        for dealer, kind, status, completed, reached, satisfaction, last_call in tasks:
            row = FollowUp(**_owned(dealer, booked), kind=kind, dedupe_key=uuid.uuid4().hex, customer_id=who[dealer],
                           due_at=MAY if status == "cancelled" else DUE, status=status, completed_at=completed,
                           reached=reached, satisfaction=satisfaction,
                           assignee="CR01", attempts=3 if last_call else 1, outcome="ok" if status == "done" else None)
            session.add(row)
            await session.flush()
            for hours in (48, 24, 0) if last_call else ():
                session.add(FollowUpAttempt(**_owned(dealer, last_call), followup_id=row.id, reached=False, channel="phone",
                                            attempted_at=last_call - timedelta(hours=hours)))
            await _events(kpi, row, last_call)
        for dealer, status, requested, slot in appointments:
            row = Appointment(**_owned(dealer, booked) | {"updated_at": booked if status == "booked" else slot},
                              customer_id=who[dealer], requested_at=requested, slot_at=slot, status=status)
            session.add(row)
            await _event(kpi, "appointment.changed", _appointment(row))
    before = await _summaries(kpi)
    d1, d2, dn = before[("D1", "2011-04")], before[("D2", "2011-04")], before[("DN", "2011-04")]
    assert (d1["followup_contact_rate"]["value"], d1["followup_contact_rate"]["n"]) == (66.7, 3)
    assert (d1["followup_dissatisfied_rate"]["value"], d1["followup_on_time"]["value"]) == (50.0, 100.0)
    assert (d2["followup_contact_rate"]["value"], d2["followup_contact_rate"]["n"]) == (0.0, 2)  # the open one is past due
    assert (d2["followup_on_time"]["value"], d2["followup_on_time"]["n"]) == (33.3, 3)
    assert (dn["appointment_show_rate"]["value"], dn["appointment_show_rate"]["n"]) == (50.0, 2)
    # (5 + 6 + 4.5) / 3 days: by booking time, the cancelled one left out.
    assert (dn["appointment_lead_days"]["value"], dn["appointment_lead_days"]["n"]) == (5.2, 3)
    token = mint_internal_token(system_principal(), SECRET)
    answer = await kpi.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["rebuilt"]["followups"], answer.json()["rebuilt"]["appointments"]) == (7, 4)
    assert await _summaries(kpi) == before
    may = (await kpi.get("/v1/kpi/summary", params={"org_code": "D2", "period": "2011-05"}, headers=as_("OEM"))).json()
    assert [may["kpis"][k]["n"] for k in ("followup_on_time", "followup_contact_rate")] == [0, 0]


async def _events(kpi: httpx.AsyncClient, task: FollowUp, last_call: datetime | None) -> None:
    """What the desk publishes for the task (an erasure publishes the cancellation)."""
    common = {"followup_id": str(task.id), "dealer_code": task.dealer_code, "org_path": task.org_path, "kind": task.kind,
              "due_at": task.due_at.isoformat()}
    await _event(kpi, "followup.scheduled", common)
    if task.status == "done":
        legacy = {} if task.reached is None else {"reached": task.reached, "satisfaction": task.satisfaction,
                                                  "assignee": task.assignee}
        await _event(kpi, "followup.completed", {**common, "outcome": "ok", "completed_at": task.completed_at.isoformat(),
                                                 **legacy})
    elif task.status == "unreachable":
        await _event(kpi, "followup.unreachable", {**common, "assignee": task.assignee, "attempts": 3,
                                                   "unreachable_at": last_call.isoformat()})
    elif task.status == "cancelled":
        await _event(kpi, "followup.cancelled", {**common, "cancelled_at": task.updated_at.isoformat()})


def _appointment(a: Appointment) -> dict[str, Any]:
    return {"appointment_id": str(a.id), "dealer_code": a.dealer_code, "org_path": a.org_path,
            "customer_id": str(a.customer_id), "status": a.status, "requested_at": a.requested_at.isoformat(),
            "slot_at": a.slot_at.isoformat(), "booked_at": a.created_at.isoformat(),
            "changed_at": a.updated_at.isoformat()}


async def _summaries(kpi: httpx.AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for org in ("OEM", "DN", "D1", "D2"):
        for period in ("2011-04",):
            answer = await kpi.get("/v1/kpi/summary", params={"org_code": org, "period": period}, headers=as_("OEM"))
            out[(org, period)] = {k: answer.json()["kpis"][k] for k in DESK_KPIS}
    return out
