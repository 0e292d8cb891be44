"""Every SDK method called once against the live suite: the drift test proves each operation has
a method; this proves each method reaches its operation (path, query names, body) and parses
the answer. The common flows are in test_live.py; this is the rest."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import csloop_sdk
from csloop_sdk import ClientCredentials, CSLoop, models
from tests.e2e.test_survey_flow import csi_answers, vin
from tests.sdk.test_live import new_customer
from tests.support.polling import eventually
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e
MONTH = datetime.now(UTC).strftime("%Y-%m")


def test_users_login_and_oauth_clients(network: Network, admin: CSLoop, dealer: Org) -> None:
    username, password = f"sdk-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    user = admin.users.create(username=username, password=password, org_code=dealer.code, roles=["viewer"],
                              scopes=["kpi:read"])
    assert user.id in {u.id for u in admin.users.list()}
    with CSLoop(network.url) as anonymous:
        token = anonymous.auth.login(username, password)
    with CSLoop(network.url, api_key=token.access_token) as viewer:
        assert viewer.kpi.summary(dealer.code, MONTH).org_code == dealer.code
    registered = admin.oauth_clients.create(org_code=dealer.code, name="DMS", scopes=["customers:read"])
    assert admin.oauth_clients.get(registered.client_id).name == "DMS"
    assert registered.client_id in {c.client_id for c in admin.oauth_clients.list()}
    with CSLoop(network.url) as anonymous:
        assert anonymous.auth.token(registered.client_id, registered.client_secret).expires_in > 0
    admin.oauth_clients.revoke(registered)
    with CSLoop(network.url, oauth=ClientCredentials(registered.client_id, registered.client_secret)) as revoked:
        with pytest.raises(csloop_sdk.CSLoopError):
            revoked.customers.list().first()


def test_customer_records_deliveries_visits_prospects_and_follow_ups(api: CSLoop, dealer: Org) -> None:
    owner = new_customer(api, dealer)
    car = api.vehicles.create(vin=vin(), model="bZ4X", model_year=2026, owner_customer_id=owner.id)
    delivery = api.deliveries.create(vin=car.vin, customer_id=owner.id, dealer_code=dealer.code,
                                     delivered_at=datetime.now(UTC).isoformat())
    assert isinstance(delivery, models.Delivery) and delivery.vin == car.vin
    visit = api.service_visits.create(customer_id=owner.id, vin=car.vin, dealer_code=dealer.code,
                                      ro_number=f"RO-{uuid.uuid4().hex[:8]}", visit_type="repair",
                                      opened_at=datetime.now(UTC))  # a datetime is sent as ISO 8601
    assert api.service_visits.get(visit.id).ro_number == visit.ro_number
    assert [v.id for v in api.service_visits.list(customer_id=owner.id)] == [visit.id]
    follow_up = eventually(lambda: api.follow_ups.list(customer_id=owner.id, kind="new_car").first(), "a follow-up")
    assert api.follow_ups.get(follow_up.id).kind == "new_car"
    assert api.follow_ups.complete(follow_up, outcome="satisfied", note="called").status == "done"
    prospect = api.prospects.create(dealer_code=dealer.code, name="王强", level="A", intended_model="bZ4X")
    assert api.prospects.get(prospect.id).level == "A"
    assert api.prospects.update(prospect, level="H").level == "H"
    erased = api.customers.erase(new_customer(api, dealer))
    assert erased.erased and erased.phone is None


def test_complaint_changes_policies_and_signals(admin: CSLoop, api: CSLoop, dealer: Org) -> None:
    since = datetime.now(UTC)
    case = api.complaints.create(dealer_code=dealer.code, channel="hotline", category="price_billing",
                                 priority="P3", description="Charged twice")
    assert api.complaints.get(case.id).number == case.number
    case = api.complaints.assign(case, "advisor-7")
    assert case.assignee == "advisor-7"
    case = api.complaints.transition(case, "acknowledged")
    case = api.complaints.transition(case, "in_progress")
    case = api.complaints.resolve(case, summary="Refunded", customer_agrees=True)
    assert api.complaints.transition(case, "resolved").status == "resolved"
    other = api.complaints.create(dealer_code=dealer.code, channel="app", category="other", priority="P4",
                                  description="Nobody called back")
    assert api.complaints.escalate(other, "no answer in a week").escalation_level == 1
    assert [c.id for c in api.complaints.list(updated_since=since, page_size=1)] == [case.id, other.id]
    policies = api.sla_policies.get()
    p4 = next(p for p in policies.items if p.priority == "P4")
    changed = admin.sla_policies.put([{"priority": "P4", "first_response_hours": p4.first_response_hours + 1,
                                       "resolution_hours": p4.resolution_hours + 1}], dealer.code)
    assert next(p for p in changed.items if p.priority == "P4").first_response_hours == p4.first_response_hours + 1
    assert isinstance(list(api.quality_signals.list()), list)


def test_tech_requests(admin: CSLoop, api: CSLoop, dealer: Org) -> None:
    asked = api.tech_requests.create(dealer_code=dealer.code, vin=vin(), symptom_codes=["P0300"], priority="P2",
                                     description="Misfire at idle")
    assert asked.status == "open" and asked.escalation_level == 0
    answered = admin.tech_requests.answer(admin.tech_requests.get(asked.id), "Flash ECU 4.2.1")
    assert answered.status == "answered"
    assert api.tech_requests.close(answered).status == "closed"
    other = api.tech_requests.create(dealer_code=dealer.code, vin=vin(), priority="P4", description="Door module resets")
    up = api.tech_requests.escalate(other, "urgent: customer waiting")
    assert up.escalation_level == 1 and [e.kind for e in api.tech_requests.get(other.id).timeline] == ["opened", "escalated"]
    assert asked.id in {r.id for r in api.tech_requests.list(status="closed", dealer_code=dealer.code)}


def test_surveys_invitations_and_responses(api: CSLoop, dealer: Org) -> None:
    changed_since = datetime.now(UTC)
    assert {t.kind for t in api.surveys.templates()} >= {"csi", "nps"}
    survey = api.surveys.create(template="csi", code=f"sdk_{uuid.uuid4().hex[:6]}")
    survey = api.surveys.update(survey, title={"zh-CN": "售后满意度", "en": "Service satisfaction"})
    assert survey.title["en"] == "Service satisfaction" and survey.id in {s.id for s in api.surveys.list(kind="csi")}
    api.surveys.publish(survey)
    assert api.surveys.version(survey, 1).version == 1
    someone = new_customer(api, dealer)
    api.invitations.create(survey_id=survey.id, customer_id=someone.id, dealer_code=dealer.code, channel="sms")
    assert [i.customer_id for i in api.invitations.list(customer_id=someone.id, survey_id=survey.id)] == [someone.id]
    submitted = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    imported = api.responses.import_results(survey.id, [{"external_id": f"study-{uuid.uuid4().hex[:8]}",
                                                         "dealer_code": dealer.code, "submitted_at": submitted,
                                                         "answers": csi_answers(8, nps=9)}])
    assert (imported.created, imported.failed) == (1, 0)
    # The delta feeds: an imported response counts from its arrival, not from the study's time.
    assert survey.id in {s.id for s in api.surveys.list(updated_since=changed_since)}
    assert len(list(api.invitations.list(survey_id=survey.id, updated_since=changed_since))) == 1
    assert len(list(api.responses.list(survey_id=survey.id, updated_since=changed_since))) == 1
    since = datetime.now(UTC) - timedelta(days=2)  # sent as ISO 8601
    listed = list(api.responses.list(survey_id=survey.id, from_=since))
    assert len(listed) == 1
    csv = api.responses.export_csv(survey_id=survey.id, from_=since)
    assert csv.count(b"\n") >= 2  # a header and the row


def test_every_kpi_read_and_a_target(admin: CSLoop, dealer: Org) -> None:
    assert admin.kpi.set_target(org_code=dealer.code, kpi="csi", period=MONTH, target=80).target == 80
    assert admin.kpi.summary(dealer.code, MONTH).kpis["csi"].target == 80
    assert isinstance(admin.kpi.rankings(kpi="csi", period=MONTH), models.KpiRankings)
    assert isinstance(admin.kpi.trends(kpi="csi", from_=MONTH, to=MONTH, org_code=dealer.code), models.KpiTrend)
    assert isinstance(admin.kpi.drivers(kind="csi", period=MONTH), models.KpiDrivers)
    assert isinstance(admin.kpi.complaints(period=MONTH, org_code=dealer.code), models.ComplaintCounts)
    assert isinstance(admin.kpi.fir_held_out(period=MONTH), models.FirHeldOut)
    assert admin.kpi.fir_causes(period=MONTH, org_code=dealer.code).items[-1].cause == "unknown"


def test_evaluation_schemes_evaluations_and_publishing(admin: CSLoop, dealer: Org) -> None:
    code = f"SDK-{uuid.uuid4().hex[:8]}"
    elements = [{"code": "CS", "title": "CS improvement", "weight": 1,
                 "kpis": [{"kpi": "csi", "weight": 1, "floor": 60, "ceiling": 100}]}]
    first = admin.evaluations.put_scheme(code, title="SDK", elements=elements, tiers=[])
    assert admin.evaluations.put_scheme(code, title="SDK 2", elements=elements, tiers=[], scheme=first).version == 2
    assert admin.evaluations.scheme(code).title == "SDK 2"
    assert code in {scheme.code for scheme in admin.evaluations.schemes()}
    assert admin.evaluations.get(scheme=code, period=MONTH, org_code=dealer.code, level="dealer").published_at is None
    frozen = admin.evaluations.publish(code, MONTH, level="dealer")
    assert (frozen.scheme_version, frozen.published_at is not None) == (2, True)


def test_upserts_and_the_updated_since_feeds(api: CSLoop, admin: CSLoop, dealer: Org) -> None:
    since = datetime.now(UTC)
    external_id = f"sdk {uuid.uuid4().hex[:8]} #1"  # quoted into the path: ' ' and '#' are part of the id
    made = api.customers.upsert(dealer.code, external_id, name="张伟", consent={"survey": True, "marketing": True})
    kept = api.customers.upsert(dealer.code, external_id, name="张伟伟", consent={"marketing": False}, if_match=made)
    assert kept.id == made.id and kept.external_id == external_id
    assert (kept.consent.survey, kept.consent.marketing) == (True, False)
    with pytest.raises(csloop_sdk.PreconditionFailed):
        api.customers.upsert(dealer.code, external_id, name="stale", if_match=made)
    car = api.vehicles.upsert(vin(), model="bZ4X", owner_customer_id=made.id)
    assert admin.vehicles.upsert(car.vin, dealer_code=dealer.code, model="bZ4X Pro").model == "bZ4X Pro"
    ro = f"RO-{uuid.uuid4().hex[:8]}"
    visit = api.service_visits.upsert(dealer.code, ro, vin=car.vin, customer_id=made.id, visit_type="maintenance",
                                      opened_at=datetime.now(UTC) - timedelta(hours=1))
    assert api.service_visits.upsert(dealer.code, ro, vin=car.vin, customer_id=made.id, visit_type="maintenance",
                                     mileage_km=10, if_match=visit).mileage_km == 10
    api.customers.erase(made)
    feed = list(api.customers.list(updated_since=since))
    assert [type(item) for item in feed if item.id == made.id] == [models.CustomerTombstone]
    assert [v.vin for v in api.vehicles.list(updated_since=since)] == [car.vin]
    assert [v.ro_number for v in api.service_visits.list(updated_since=since)] == [ro]
    assert isinstance(list(api.follow_ups.list(updated_since=since)), list)


def test_vehicle_delivery_and_visit_imports(api: CSLoop, dealer: Org) -> None:
    buyer = new_customer(api, dealer)
    car, ro = vin(), f"RO-{uuid.uuid4().hex[:8]}"
    vehicles = api.vehicles.import_rows(f"vin,model,owner_customer_id\n{car},bZ4X,{buyer.id}\n".encode(), dealer.code)
    assert (vehicles.created, vehicles.failed) == (1, 0)
    delivered = api.deliveries.import_rows(
        f'{{"vin": "{car}", "customer_id": "{buyer.id}", "delivered_at": "{datetime.now(UTC).isoformat()}"}}\n'.encode(),
        dealer.code, jsonl=True)
    assert (delivered.created, delivered.failed) == (1, 0)
    visits = api.service_visits.import_rows(iter([b"ro_number,vin,customer_id,visit_type\n",
                                                  f"{ro},{car},{buyer.id},maintenance\n".encode()]), dealer.code)
    assert (visits.created, visits.failed) == (1, 0)
    assert [v.ro_number for v in api.service_visits.list(vin=car)] == [ro]


def test_the_follow_up_desk(api: CSLoop, dealer: Org) -> None:
    settings = api.desk_settings.get(dealer.code)
    assert api.desk_settings.put(dealer.code, version=settings, max_attempts=2).max_attempts == 2
    owner = new_customer(api, dealer)
    car = api.vehicles.create(vin=vin(), model="bZ4X", model_year=2026, owner_customer_id=owner.id)
    api.deliveries.create(vin=car.vin, customer_id=owner.id, dealer_code=dealer.code,
                          delivered_at=datetime.now(UTC).isoformat())
    follow_up = eventually(lambda: api.follow_ups.list(customer_id=owner.id, kind="new_car").first(), "a follow-up")
    assert follow_up.max_attempts == 2
    with pytest.raises(csloop_sdk.CSLoopError):  # no staff member has that code: the call reached the API
        api.follow_ups.assign(follow_up, assignee=f"NOBODY-{uuid.uuid4().hex[:6]}")
    assert api.follow_ups.record_attempt(follow_up, reached=False, channel="phone").attempts == 1
    done = api.follow_ups.record_attempt(follow_up, reached=True, channel="phone", satisfaction="satisfied")
    assert done.result and done.result.satisfaction == "satisfied"
    assert [a.reached for a in api.follow_ups.attempts(follow_up)] == [False, True]
    assert [f.id for f in api.follow_ups.list(status="done", customer_id=owner.id, assignee=None)] == [follow_up.id]


def test_appointments_booked_moved_closed_and_kept_by_a_visit(api: CSLoop, dealer: Org) -> None:
    owner = new_customer(api, dealer)
    car = api.vehicles.create(vin=vin(), owner_customer_id=owner.id)
    slot = datetime.now(UTC) + timedelta(days=2)
    booked = api.appointments.create(customer_id=owner.id, dealer_code=dealer.code, vin=car.vin, slot_at=slot,
                                     service_type="maintenance")
    assert isinstance(booked, models.Appointment) and booked.status == "booked"
    moved = api.appointments.update(booked, slot_at=slot + timedelta(days=1))
    assert moved.slot_at == slot + timedelta(days=1) and api.appointments.get(booked.id).version == moved.version
    visit = api.service_visits.create(customer_id=owner.id, vin=car.vin, dealer_code=dealer.code,
                                      ro_number=f"RO-{uuid.uuid4().hex[:8]}", visit_type="maintenance",
                                      appointment_id=booked.id)
    assert visit.appointment_id == booked.id and api.appointments.get(booked.id).status == "arrived"
    missed = api.appointments.create(customer_id=owner.id, slot_at=slot, dealer_code=dealer.code)
    assert api.appointments.set_status(missed, to="no_show").status == "no_show"
    assert [a.id for a in api.appointments.list(customer_id=owner.id, status="no_show", slot_from=slot,
                                                slot_to=slot + timedelta(hours=1))] == [missed.id]


def test_campaigns_created_launched_once_and_measured(api: CSLoop, dealer: Org) -> None:
    model = f"SDK-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        owner = api.customers.create(dealer_code=dealer.code, name="张伟", phone=f"139{uuid.uuid4().int % 10**8:08d}",
                                     consent={"survey": True, "marketing": True, "share_with_manufacturer": True})
        api.vehicles.create(vin=vin(), model=model, owner_customer_id=owner.id)
    draft = api.campaigns.create(name="保养提醒", kind="service", channel="sms", message={"zh-CN": "该保养了"},
                                 audience={"model": model}, holdout_pct=0, org_code=dealer.code)
    assert isinstance(draft, models.Campaign) and draft.audience_size == 3 and draft.audience.model == model
    with pytest.raises(csloop_sdk.Conflict):
        api.campaigns.results(draft)
    launched = api.campaigns.launch(draft)
    assert launched.status == "launched" and api.campaigns.launch(draft.id).launched_at == launched.launched_at
    assert api.campaigns.get(draft.id).excluded_no_consent == 0
    assert draft.id in [c.id for c in api.campaigns.list(org_code=dealer.code, status="launched")]
    results = api.campaigns.results(draft.id)
    assert isinstance(results, models.CampaignResults) and (results.sent, results.holdout, results.uplift_pts) == (3, 0, None)


def test_staff_named_by_visits_and_calls(network: Network, api: CSLoop, admin: CSLoop, dealer: Org) -> None:
    code = f"SA-{uuid.uuid4().hex[:6]}"
    member = api.staff.create(code=code, name="陈杰", role="service_advisor", dealer_code=dealer.code)
    assert api.staff.get(member.id).code == code
    assert code in {m.code for m in api.staff.list(dealer_code=dealer.code, role="service_advisor", active=True)}
    owner = new_customer(api, dealer)
    visit = api.service_visits.create(customer_id=owner.id, vin=vin(), dealer_code=dealer.code, visit_type="repair",
                                      ro_number=f"RO-{uuid.uuid4().hex[:8]}", advisor=code, technician=code)
    assert (visit.advisor, visit.technician) == (code, code)
    retired = api.staff.update(member, active=False)
    assert retired.active is False and code not in {m.code for m in api.staff.list(active=True)}
    with pytest.raises(csloop_sdk.CSLoopError):
        api.service_visits.create(customer_id=owner.id, vin=vin(), dealer_code=dealer.code, visit_type="repair",
                                  ro_number=f"RO-{uuid.uuid4().hex[:8]}", advisor=code)
    username, password = f"sdk-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    user = admin.users.create(username=username, password=password, org_code=dealer.code, staff_code="CR01",
                              scopes=["customers:read"])
    assert user.staff_code == "CR01"
    assert admin.users.update(user, staff_code="CR02").staff_code == "CR02"
    with CSLoop(network.url) as anonymous:
        assert anonymous.auth.login(username, password).staff_code == "CR02"


def test_a_complaints_corrective_action_tracked_to_done_by_an_improvement_plan(api: CSLoop, dealer: Org) -> None:
    """complaint -> plan action -> done -> the complaint shows it done (improvement.action_done,
    KPI service -> complaint service). The owner was created a moment before: the KPI service asks
    the customer service about it."""
    code = api.staff.create(code=f"SM-{uuid.uuid4().hex[:6]}", name="王芳", role="manager", dealer_code=dealer.code).code
    case = api.complaints.create(dealer_code=dealer.code, channel="hotline", category="repair_quality",
                                 priority="P3", description="Noise after the repair")
    case = api.complaints.transition(api.complaints.transition(case, "acknowledged"), "in_progress")
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    case = api.complaints.resolve(case, summary="Redone", customer_agrees=True, corrective_action={
        "description": "Road test after every NVH repair", "owner": code, "due": due})
    plan = api.improvement_plans.create(org_code=dealer.code, kpi="complaint_rate", period=MONTH, baseline=4.0,
                                        target=2.0, recheck_period=str(int(MONTH[:4]) + 1), cause="No road tests",
                                        source={"kind": "complaint", "ref": case.id})
    assert plan.status == "plan" and plan.result is None
    assert [(a.description, a.owner, a.complaint_id) for a in plan.actions] == [
        ("Road test after every NVH repair", code, case.id)]
    assert api.improvement_plans.get(plan.id).id == plan.id
    assert plan.id in {p.id for p in api.improvement_plans.list(org_code=dealer.code, status="plan", overdue=False)}
    with pytest.raises(csloop_sdk.CSLoopError):
        api.improvement_plans.transition(plan, "check")
    assert api.improvement_plans.transition(plan, "do").status == "do"
    done = api.improvement_plans.done(plan, 0)
    assert done.actions[0].done_at is not None

    def shown_done() -> dict | None:
        corrective = (api.complaints.get(case.id).resolution or {}).get("corrective_action", {})
        return corrective if corrective.get("done_at") else None

    corrective = eventually(shown_done, "the complaint's corrective action shown done")
    assert corrective["plan_id"] == plan.id
