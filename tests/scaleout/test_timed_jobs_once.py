"""Timed jobs run once per due item across replicas (issue 19 item 2).

For each service, two replicas (two apps, two lifespans, two engines) on one PostgreSQL database;
items are made due, both schedulers run each timed job's passes at once, without the lease and
with it, and half an interval apart (tests/scaleout/replicas.py); each due item's effect is then
counted: its row and its outbox event, each exactly once.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update

from services.complaint import app as complaint_service
from services.complaint import models as complaint_models
from services.complaint.models import BulletinReminder, Complaint, SlaBreach, TechRequestBreach, TimelineEntry
from services.complaint.bulletins import remind_overdue
from services.complaint.jobs import run_once as complaint_sla_pass
from services.complaint.settings import ComplaintSettings
from services.customer import app as customer_service
from services.customer import holidays, standing
from services.customer import models as customer_models
from services.customer.models import FollowUp
from services.customer.followups import create_birthday_followups, create_holiday_followups
from services.customer.settings import CustomerSettings
from services.kpi import app as kpi_service
from services.kpi import models as kpi_models
from services.kpi.models import ImprovementAction
from services.kpi import plans
from services.kpi.plan_sources import PlanSources
from services.kpi.settings import KpiSettings
from services.survey import invitations
from services.survey import models as survey_models
from services.survey.models import Invitation
from services.survey.jobs import flag_spikes_once
from services.survey.jobs import run_once as survey_invitations_pass
from services.survey.repository import SurveyRepository
from services.survey.settings import SurveySettings
from shared.auth import system_principal
from shared.db import create_engine, new_metadata, session_factory, utcnow
from shared.events import new_event
from shared.migrations import ensure_database
from shared.outbox import outbox_row
from shared.retention import EventHousekeeping
from shared.service_app import plumbing_tables
from tests.complaint import conftest as complaint_world
from tests.complaint.test_bulletins_recalls import bulletin_body
from tests.complaint.test_tech_requests import asked
from tests.customer import conftest as customer_world
from tests.customer.test_lifecycle import customer, months_ago, visit
from tests.kpi import conftest as kpi_world
from tests.kpi.test_plans import created as created_plan
from tests.kpi.test_plans import sources_app as plan_sources_app
from tests.scaleout.replicas import once, outbox_data, running_replicas, scheduler_rounds
from tests.support.databases import postgres_base_url, unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory
from tests.survey import conftest as survey_world
from tests.survey.test_events import _visit as visit_event
from tests.survey.test_integrity import DEFINITION, _waits_on_a_lock_or_ends as waits_on_a_lock_or_ends, spiking_week

pytestmark = pytest.mark.skipif(not postgres_base_url(),
                                reason="replicas share a PostgreSQL database (SQLite serves one process)")


# --- complaint: SLA breaches of cases and technical requests, bulletin reminders ------------------


def complaint_replica(url: str) -> Callable[[], FastAPI]:
    def make() -> FastAPI:
        settings = ComplaintSettings(database_url=url, internal_secret=complaint_world.SECRET, relay_enabled=False,
                                     jobs_enabled=False, log_json=False, log_level="WARNING")
        return complaint_service.create_app(settings, migrate=True, references=complaint_world.stand_in_sources(),
                                            directory=stand_in_directory(complaint_world.ORGS, complaint_world.SECRET))
    return make


async def test_complaint_sla_breaches_and_bulletin_reminders_happen_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    url = await unit_database_url(tmp_path_factory, "scaleout_complaint")
    defaults = ComplaintSettings()
    async with running_replicas(complaint_replica(url)) as replicas:
        first = replicas[0]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(first), base_url="http://complaint") as client:
            cases = [((await complaint_world.opened(client, dealer))["id"], dealer)
                     for dealer in ("D1", "D2", "D3", "D1", "D4", "D5")]
            requests = [(await asked(client, dealer))["id"] for dealer in ("D1", "D3", "D4")]
            bulletin = await client.post("/v1/bulletins", json=bulletin_body(), headers=complaint_world.as_("DW"))
            assert bulletin.status_code == 201, bulletin.text
        # A month on: every case missed both targets, every request its answer, every dealer its acknowledgement.
        month_on = utcnow() + timedelta(days=30)
        await scheduler_rounds(replicas, "complaint-sla",
                               lambda app, at: complaint_sla_pass(app.state.sessions, app.state.directory, at),
                               month_on, defaults.sla_job_interval_seconds)
        await scheduler_rounds(replicas, "bulletin-reminders",
                               lambda app, at: remind_overdue(app.state.sessions, app.state.directory, at),
                               month_on, defaults.bulletin_job_interval_seconds)

        async with first.state.sessions() as session:
            breaches = (await session.execute(select(SlaBreach.complaint_id, SlaBreach.kind))).all()
            timeline = (await session.execute(select(TimelineEntry.complaint_id, TimelineEntry.kind, TimelineEntry.data)
                                              .where(TimelineEntry.kind.in_(["sla_breached", "escalated"])))).all()
            request_breaches = (await session.execute(
                select(TechRequestBreach.tech_request_id, TechRequestBreach.escalation_level))).all()
            reminders = (await session.execute(select(BulletinReminder.bulletin_id, BulletinReminder.dealer_code))).all()
    both_kinds = once((uuid.UUID(case), kind) for case, _dealer in cases for kind in ("first_response", "resolution"))
    assert Counter(tuple(row) for row in breaches) == both_kinds
    assert Counter((row.complaint_id, row.data["kind"]) for row in timeline if row.kind == "sla_breached") == both_kinds
    breached = await outbox_data(first, complaint_models.TABLES.outbox, "complaint.sla_breached")
    assert Counter((uuid.UUID(e["complaint_id"]), e["kind"]) for e in breached) == both_kinds
    # Each breach hands the case one level up (dealer -> distributor -> manufacturer): twice per case, once each.
    escalations = once((uuid.UUID(case), level) for case, _dealer in cases for level in (1, 2))
    assert Counter((row.complaint_id, row.data["level"]) for row in timeline if row.kind == "escalated") == escalations
    escalated = await outbox_data(first, complaint_models.TABLES.outbox, "complaint.escalated")
    handed_from = once((uuid.UUID(case), org) for case, dealer in cases
                       for org in (dealer, complaint_world.ORGS[dealer]["parent_code"]))
    assert Counter((uuid.UUID(e["complaint_id"]), e["from_org_code"]) for e in escalated) == handed_from

    assert Counter(tuple(row) for row in request_breaches) == once((uuid.UUID(r), 0) for r in requests)
    handed_up = await outbox_data(first, complaint_models.TABLES.outbox, "tech_request.escalated")
    assert Counter(e["tech_request_id"] for e in handed_up) == once(requests)

    to_remind = once((uuid.UUID(bulletin.json()["id"]), dealer) for dealer in ("D4", "D5"))
    assert Counter(tuple(row) for row in reminders) == to_remind
    overdue = await outbox_data(first, complaint_models.TABLES.outbox, "bulletin.overdue")
    assert Counter((uuid.UUID(e["bulletin_id"]), e["dealer_code"]) for e in overdue) == to_remind


async def test_two_running_schedulers_report_each_breach_of_cases_made_due_under_them_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The apps' own schedulers (their lifespans' jobs, every 0.1 s, as wired by create_app): cases
    fall due while both run; each breach is reported once."""
    interval = 0.1
    url = await unit_database_url(tmp_path_factory, "scaleout_complaint_schedulers")

    def make() -> FastAPI:
        settings = ComplaintSettings(database_url=url, internal_secret=complaint_world.SECRET, relay_enabled=False,
                                     sla_job_interval_seconds=interval, log_json=False, log_level="WARNING")
        return complaint_service.create_app(settings, migrate=True, references=complaint_world.stand_in_sources(),
                                            directory=stand_in_directory(complaint_world.ORGS, complaint_world.SECRET))

    async with running_replicas(make) as replicas:
        first = replicas[0]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(first), base_url="http://complaint") as client:
            cases = [(await complaint_world.opened(client, dealer))["id"] for dealer in ("D1", "D2", "D3", "D4")]
        an_hour_ago = utcnow() - timedelta(hours=1)
        async with first.state.sessions() as session, session.begin():
            await session.execute(update(Complaint).where(Complaint.id.in_([uuid.UUID(case) for case in cases]))
                                  .values(first_response_due=an_hour_ago, resolution_due=an_hour_ago))

        async def breaches() -> list[dict[str, Any]]:
            return await outbox_data(first, complaint_models.TABLES.outbox, "complaint.sla_breached")

        deadline = asyncio.get_running_loop().time() + 20
        while len(await breaches()) < 2 * len(cases):
            assert asyncio.get_running_loop().time() < deadline, "the schedulers reported no breach in 20 s"
            await asyncio.sleep(interval)
        await asyncio.sleep(10 * interval)  # ten more passes of each scheduler, which must report nothing more
        reported = await breaches()
    assert Counter((e["complaint_id"], e["kind"]) for e in reported) == once(
        (case, kind) for case in cases for kind in ("first_response", "resolution"))


# --- customer: birthday and holiday greetings, standing (lifecycle changes, win-backs) -----------


def customer_replica(url: str) -> Callable[[], FastAPI]:
    def make() -> FastAPI:
        settings = CustomerSettings(database_url=url, internal_secret=customer_world.SECRET, relay_enabled=False,
                                    birthday_job_enabled=False, holiday_job_enabled=False, standing_job_enabled=False,
                                    log_json=False, log_level="WARNING")
        directory = stand_in_directory(customer_world.directory_orgs(), customer_world.SECRET)
        return customer_service.create_app(settings, migrate=True, org_directory=directory)
    return make


async def test_customer_greetings_lifecycle_changes_and_win_backs_happen_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    url = await unit_database_url(tmp_path_factory, "scaleout_customer")
    defaults = CustomerSettings()
    names = frozenset(defaults.holiday_greetings)
    # Eight in the morning of 2026-09-28: the greetings of National Day (1 October) are made three days ahead.
    morning = datetime.fromisoformat("2026-09-28T08:00:00+00:00")
    coming = holidays.holidays_starting(morning.date(), morning.date() + timedelta(days=defaults.holiday_lead_days), names)
    assert coming, "a holiday to greet within the lead days of the chosen morning"
    async with running_replicas(customer_replica(url)) as replicas:
        first = replicas[0]
        await customer_world.seed_staff(first, ("DLR-0042", "DLR-0100"))
        async with customer_world.clients_of(first) as client_for:
            birthdays = [(await customer(client_for(dealer), dealer, marketing=True, birth_date="1980-09-28"))["id"]
                         for dealer in ("DLR-0042", "DLR-0100", "DLR-0042")]
            slipping = [(await customer(client_for(dealer), dealer, (months_ago(10, morning), 400), marketing=True,
                                        birth_date="1980-01-15"))["id"] for dealer in ("DLR-0042", "DLR-0100", "DLR-0100")]

        async def birthday_pass(app: FastAPI, at: datetime) -> int:
            async with app.state.sessions() as session, session.begin():
                return await create_birthday_followups(session, at.date())

        await scheduler_rounds(replicas, "birthdays", birthday_pass, morning, defaults.birthday_job_interval_seconds)
        await scheduler_rounds(replicas, "holidays", lambda app, at: create_holiday_followups(
            app.state.sessions, at.date(), defaults.holiday_lead_days, names), morning, defaults.holiday_job_interval_seconds)
        await scheduler_rounds(replicas, "standing", lambda app, at: standing.refresh_all(app.state.sessions, at),
                               morning, defaults.standing_job_interval_seconds)

        async with first.state.sessions() as session:
            tasks = (await session.execute(select(FollowUp.id, FollowUp.kind, FollowUp.customer_id))).all()
        scheduled = await outbox_data(first, customer_models.TABLES.outbox, "followup.scheduled")
        changes = await outbox_data(first, customer_models.TABLES.outbox, "lifecycle.changed")
    everyone = birthdays + slipping  # all accept marketing

    def per_customer(kind: str) -> Counter[str]:
        return Counter(str(task.customer_id) for task in tasks if task.kind == kind)

    def events_per_customer(kind: str) -> Counter[str]:
        return Counter(e["customer_id"] for e in scheduled if e["kind"] == kind)

    assert per_customer("birthday") == events_per_customer("birthday") == once(birthdays)
    greetings = Counter({person: len(coming) for person in everyone})
    assert per_customer("holiday") == events_per_customer("holiday") == greetings
    assert per_customer("win_back") == events_per_customer("win_back") == once(slipping)
    assert Counter(e["followup_id"] for e in scheduled) == once(str(task.id) for task in tasks)
    assert Counter((e["customer_id"], e["lifecycle"]) for e in changes) == once((person, "at_risk") for person in slipping)


async def test_a_visit_applied_in_one_replica_while_the_daily_run_runs_in_another_changes_the_lifecycle_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """An at-risk customer comes back: replica A applies the visit's event (the customer's standing
    brought up to date in its transaction) while replica B's daily run recomputes everyone's."""
    url = await unit_database_url(tmp_path_factory, "scaleout_customer_standing")
    async with running_replicas(customer_replica(url)) as (first, second):
        await customer_world.seed_staff(first, ("DLR-0042",))
        async with customer_world.clients_of(first) as client_for:
            client = client_for("DLR-0042")
            person = await customer(client, "DLR-0042", (months_ago(10, utcnow()), 400))
            await standing.refresh_standing(first.state.sessions, utcnow())  # at risk
            await visit(client, person["id"], "DLR-0042", 2, utcnow() - timedelta(hours=1), 500)  # back
        async with first.state.sessions() as session, session.begin():
            await standing.refresh_customer(session, uuid.UUID(person["id"]), utcnow())
            daily = asyncio.create_task(standing.refresh_standing(second.state.sessions, utcnow()))
            await waits_on_a_lock_or_ends(first, daily)
        await daily
        changes = await outbox_data(first, customer_models.TABLES.outbox, "lifecycle.changed")
    assert Counter((e["previous"], e["lifecycle"]) for e in changes if e["customer_id"] == person["id"]) == once(
        [("prospect", "at_risk"), ("at_risk", "active")])


# --- survey: due invitations and their reminders, the dealer_spike pass ---------------------------


async def test_survey_invitations_reminders_and_spike_flags_happen_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    url = await unit_database_url(tmp_path_factory, "scaleout_survey")
    defaults = SurveySettings()
    now = utcnow()
    async with running_replicas(lambda: survey_world.survey_app(url, log_level="WARNING")) as replicas:
        first, second = replicas
        async with httpx.AsyncClient(transport=httpx.ASGITransport(first), base_url="http://survey") as client:
            customers = [uuid.uuid4() for _ in range(4)]
            for person in customers:
                await survey_world.give_consent(client, person)
                await survey_world.deliver(client, "service_visit.closed", visit_event(person, now - timedelta(days=4)))
            # Two visits of one customer, two invitations due at once: survey fatigue lets one go out.
            twice = uuid.uuid4()
            await survey_world.give_consent(client, twice)
            for days in (6, 5):
                await survey_world.deliver(client, "service_visit.closed", visit_event(twice, now - timedelta(days=days)))
            survey = await survey_world.published_survey(client, DEFINITION)

        # Replica A's pass is under way, its transaction open, the first of the two invitations sent
        # in it, when replica B's pass starts: B must not send the second (A's is not committed yet).
        async with first.state.sessions() as session, session.begin():
            assert await invitations.send_due(SurveyRepository(session, system_principal()), defaults, now, limit=1) == 1
            await survey_invitations_pass(second.state.sessions, second.state.settings, now)
        await scheduler_rounds(replicas, "survey-invitations",
                               lambda app, at: survey_invitations_pass(app.state.sessions, app.state.settings, at),
                               now, defaults.jobs_interval_seconds)
        reminders_due = now + timedelta(days=defaults.reminder_after_days, minutes=1)
        await scheduler_rounds(replicas, "survey-invitations",
                               lambda app, at: survey_invitations_pass(app.state.sessions, app.state.settings, at),
                               reminders_due, defaults.jobs_interval_seconds)

        judged = datetime.fromisoformat("2021-03-01T00:00:00+00:00")  # a Monday: judged by the pass of the 8th
        spiking, _near = await spiking_week(first, survey, judged)
        await scheduler_rounds(replicas, "survey-integrity-spikes",
                               lambda app, at: flag_spikes_once(app.state.sessions, app.state.settings, at),
                               judged + timedelta(weeks=1, hours=6), defaults.integrity_spike_interval_seconds)

        async with first.state.sessions() as session:
            made = (await session.execute(select(Invitation.id, Invitation.customer_id, Invitation.status,
                                                 Invitation.status_reason, Invitation.reminded_at))).all()
        sent = await outbox_data(first, survey_models.TABLES.outbox, "survey.invitation.sent")
        reminded = await outbox_data(first, survey_models.TABLES.outbox, "survey.invitation.reminded")
        flagged = await outbox_data(first, survey_models.TABLES.outbox, "survey.response.flagged")
    invited = customers + [twice]
    outcomes = Counter((invitation.customer_id, invitation.status, invitation.status_reason) for invitation in made)
    assert outcomes == once((person, "sent", None) for person in invited) + once([(twice, "cancelled", "fatigue")])
    went_out = {str(invitation.id) for invitation in made if invitation.status == "sent"}
    assert Counter(e["invitation_id"] for e in sent) == once(went_out)
    assert Counter(e["customer_id"] for e in sent) == once(str(person) for person in invited)
    assert Counter(e["invitation_id"] for e in reminded) == once(went_out)
    assert all(invitation.reminded_at is not None for invitation in made if invitation.status == "sent")
    assert Counter(e["response_id"] for e in flagged) == once(str(row.id) for row in spiking)


async def test_a_customer_invited_through_two_replicas_while_the_job_sends_is_invited_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Survey fatigue across replicas: two requests inviting one customer, each to another replica,
    while a third pass sends the customer's due invitation: one invitation goes out."""
    url = await unit_database_url(tmp_path_factory, "scaleout_survey_requests")
    defaults = SurveySettings()
    now = utcnow()
    async with running_replicas(lambda: survey_world.survey_app(url, log_level="WARNING")) as replicas, \
            AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                                                      base_url="http://survey")) for app in replicas]
        person = uuid.uuid4()
        await survey_world.give_consent(clients[0], person)
        await survey_world.deliver(clients[0], "service_visit.closed", visit_event(person, now - timedelta(days=4)))
        survey = await survey_world.published_survey(clients[0], DEFINITION)
        *asked, _ = await asyncio.gather(
            *(survey_world.invite(client, survey["id"], customer_id=person) for client in clients),
            survey_invitations_pass(replicas[0].state.sessions, defaults, now))
        await scheduler_rounds(replicas, "survey-invitations",
                               lambda app, at: survey_invitations_pass(app.state.sessions, app.state.settings, at),
                               utcnow(), defaults.jobs_interval_seconds)
        async with replicas[0].state.sessions() as session:
            made = (await session.execute(select(Invitation.source_key.is_not(None), Invitation.status)
                                          .where(Invitation.customer_id == person))).all()
        sent = await outbox_data(replicas[0], survey_models.TABLES.outbox, "survey.invitation.sent")
    assert Counter(e["customer_id"] for e in sent) == once([str(person)])
    # Sent once: by a request (201; the due invitation then cancelled for fatigue) or by the job (both requests 409).
    by_job = Counter(status for scheduled, status in made if scheduled)
    invited = [answer for answer in asked if answer.status_code == 201]
    assert len(invited) + by_job["sent"] == 1 and by_job["scheduled"] == 0
    assert Counter(status for scheduled, status in made if not scheduled) == Counter({"sent": len(invited)})
    assert all(answer.json()["reason"] == "fatigue" for answer in asked if answer.status_code != 201)


# --- kpi: improvement plans' re-checks and overdue actions ----------------------------------------


def kpi_replica(url: str) -> Callable[[], FastAPI]:
    def make() -> FastAPI:
        settings = KpiSettings(database_url=url, internal_secret=kpi_world.SECRET, relay_enabled=False,
                               jobs_enabled=False, log_json=False, log_level="WARNING")
        stand_in = httpx.ASGITransport(plan_sources_app())
        sources = PlanSources("http://customer.test", "http://complaint.test", customer_transport=stand_in,
                              complaint_transport=stand_in)
        return kpi_service.create_app(settings, migrate=True, plan_sources=sources,
                                      directory=stand_in_directory(kpi_world.ORGS, kpi_world.SECRET))
    return make


async def test_kpi_overdue_plan_actions_are_published_once(tmp_path_factory: pytest.TempPathFactory) -> None:

    url = await unit_database_url(tmp_path_factory, "scaleout_kpi")
    async with running_replicas(kpi_replica(url)) as replicas:
        first = replicas[0]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(first), base_url="http://kpi") as client:
            await post_event(client, kpi_world.SECRET, "staff.changed", {
                "dealer_code": "D1", "org_path": "/OEM/DN/D1/", "staff_id": str(uuid.uuid4()), "code": "SA-1",
                "name": "Wang Fang", "role": "service_advisor", "active": True, "version": 1}, source="/csloop/customer")
            late = [{"description": f"Late {n}", "owner": "SA-1", "due": "2025-01-10"} for n in range(2)]
            not_yet = {"description": "Not yet due", "owner": "SA-1", "due": "2099-01-10"}
            plan_ids = [(await created_plan(client, actions=[*late, not_yet]))["id"] for _ in range(3)]
        await scheduler_rounds(replicas, "kpi-plans", lambda app, at: plans.run_once(app.state.sessions, at),
                               utcnow(), KpiSettings().plans_job_interval_seconds)

        async with first.state.sessions() as session:
            marked = (await session.execute(select(ImprovementAction.plan_id, ImprovementAction.position)
                                            .where(ImprovementAction.overdue_published_at.is_not(None)))).all()
        overdue = await outbox_data(first, kpi_models.TABLES.outbox, "improvement.action_overdue")
    expected = once((plan, index) for plan in plan_ids for index in (0, 1))
    assert Counter((str(plan), index) for plan, index in marked) == expected
    assert Counter((e["plan_id"], e["action_index"]) for e in overdue) == expected


# --- every service: the housekeeping that prunes event bookkeeping --------------------------------


async def test_two_replicas_pruning_at_once_prune_only_what_is_done_and_neither_fails(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The housekeeping runs unleased in every replica (a row deleted twice is deleted once): two
    replicas' passes at once, in small batches, each deleting what the other has not."""



    tables = plumbing_tables(metadata := new_metadata())
    url = await unit_database_url(tmp_path_factory, "scaleout_housekeeping")
    await ensure_database(url)
    engines = [create_engine(url) for _ in range(2)]
    try:
        async with engines[0].begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = [session_factory(engine) for engine in engines]
        now = utcnow()
        old, recent = now - timedelta(days=9), now - timedelta(days=1)

        def events(count: int, sent_at: datetime) -> list[dict[str, Any]]:
            return [outbox_row(new_event("/test", "note.created", None, {})) | {"sent_at": sent_at} for _ in range(count)]

        async with sessions[0]() as session, session.begin():
            await session.execute(insert(tables.outbox), events(300, old) + events(20, recent))
            pending_seqs = (await session.execute(insert(tables.outbox).returning(tables.outbox.c.seq),
                                                  events(10, old))).scalars().all()
            await session.execute(insert(tables.outbox_deliveries), [
                {"seq": seq, "subscriber": "http://kpi", "attempts": 3, "next_attempt_at": now, "sent_at": None}
                for seq in pending_seqs])
            await session.execute(insert(tables.processed_events), [
                {"event_id": f"e{n}", "type": "x", "processed_at": old if n < 300 else recent} for n in range(320)])

        housekeepers = [EventHousekeeping(made, timedelta(days=7), processed=tables.processed_events, outbox=tables.outbox,
                                          deliveries=tables.outbox_deliveries, batch_size=40) for made in sessions]
        while max(await asyncio.gather(*(keeper.prune_once() for keeper in housekeepers))) > 0:
            pass

        async with sessions[1]() as session:
            kept_events = await session.scalar(select(func.count()).select_from(tables.outbox))
            kept_ids = await session.scalar(select(func.count()).select_from(tables.processed_events))
            pending = await session.scalar(select(func.count()).select_from(tables.outbox_deliveries))
        assert (kept_events, kept_ids, pending) == (20 + 10, 20, 10)
    finally:
        for engine in engines:
            await engine.dispose()
