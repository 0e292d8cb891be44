"""The SDK against the suite running as processes: what an integrator does first."""

import uuid
from datetime import UTC, datetime

import pytest

import csloop_sdk
from csloop_sdk import CSLoop, models
from tests.e2e.test_survey_flow import csi_answers, vin
from tests.e2e.test_survey_page import phone
from tests.support.polling import eventually
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


def new_customer(api: CSLoop, dealer: Org, **fields: object) -> models.Customer:
    return api.customers.create(dealer_code=dealer.code, name="张伟", phone=phone(), external_id=uuid.uuid4().hex[:12],
                                consent={"survey": True, "marketing": False, "share_with_manufacturer": True}, **fields)


def test_customers_create_get_update_and_the_stale_update_is_a_typed_412(api: CSLoop, dealer: Org) -> None:
    created = new_customer(api, dealer, city="北京")
    assert isinstance(created, models.Customer) and isinstance(created.created_at, datetime)
    assert created.consent.survey is True
    read = api.customers.get(created.id)
    changed = api.customers.update(read, city="上海")
    assert changed.city == "上海" and changed.version == read.version + 1
    with pytest.raises(csloop_sdk.PreconditionFailed) as stale:
        api.customers.update(read, city="广州")  # `read` is the version before the change
    assert stale.value.etag == f'"v{changed.version}"'
    assert api.customers.view_360(changed).customer.id == created.id


def test_a_create_repeated_with_its_idempotency_key_is_stored_once(api: CSLoop, dealer: Org) -> None:
    body = {"dealer_code": dealer.code, "name": "李娜", "phone": phone(), "external_id": uuid.uuid4().hex[:12]}
    key = f"dms-{uuid.uuid4().hex}"
    first = api.customers.create(**body, idempotency_key=key)
    again = api.customers.create(**body, idempotency_key=key)
    assert again.id == first.id
    with pytest.raises(csloop_sdk.Conflict):  # without the key, the same external_id is a duplicate
        api.customers.create(**body)


def test_list_iterates_across_cursor_pages(api: CSLoop, dealer: Org) -> None:
    made = {new_customer(api, dealer).id for _ in range(5)}
    listed = api.customers.list(dealer_code=dealer.code, page_size=2)
    pages = list(listed.pages())
    assert len(pages) >= 3 and all(len(page) <= 2 for page in pages)
    assert made <= {customer.id for customer in listed}


def test_problems_are_typed_exceptions(network: Network, api: CSLoop, dealer: Org) -> None:
    with pytest.raises(csloop_sdk.NotFound):
        api.customers.get(str(uuid.uuid4()))
    with pytest.raises(csloop_sdk.ValidationFailed) as invalid:
        api.customers.create(dealer_code=dealer.code, name="x", email="not an email")
    assert any("email" in str(error) for error in invalid.value.errors)
    with CSLoop(network.url, api_key="csk_unknown") as stranger, pytest.raises(csloop_sdk.Unauthorized):
        stranger.customers.get(str(uuid.uuid4()))
    reader = network.key_for(dealer.code, ["customers:read"])
    with CSLoop(network.url, api_key=reader.key) as limited, pytest.raises(csloop_sdk.Forbidden):
        limited.complaints.list().first()


def test_vehicles_visits_and_complaints_with_if_match(api: CSLoop, dealer: Org) -> None:
    owner = new_customer(api, dealer)
    car = api.vehicles.create(vin=vin(), model="bZ4X", model_year=2026, owner_customer_id=owner.id)
    assert api.vehicles.get(car.vin).owner_customer_id == owner.id
    assert car.vin in {v.vin for v in api.vehicles.list(owner_customer_id=owner.id)}
    visit = api.service_visits.create(customer_id=owner.id, vin=car.vin, dealer_code=dealer.code,
                                      ro_number=f"RO-{uuid.uuid4().hex[:8]}", visit_type="maintenance",
                                      opened_at=datetime.now(UTC).isoformat())
    closed = api.service_visits.update(visit, closed_at=datetime.now(UTC).isoformat())
    assert closed.closed_at is not None
    case = api.complaints.create(dealer_code=dealer.code, customer_id=owner.id, channel="hotline",
                                 category="staff_attitude", priority="P3", description="Waited two hours")
    moved = api.complaints.transition(case, "acknowledged", note="called back")
    assert moved.status == "acknowledged"
    with pytest.raises(csloop_sdk.PreconditionFailed):
        api.complaints.comment(case, "from a stale copy")
    assert api.complaints.comment(moved, "fresh").version > moved.version
    assert case.id in {c.id for c in api.complaints.list(customer_id=owner.id)}


def test_a_survey_invitation_answered_and_read_back(network: Network, api: CSLoop, dealer: Org) -> None:
    survey = api.surveys.create(template="csi")
    published = api.surveys.publish(survey)
    assert published.version == 1 and api.surveys.get(survey.id).published_version == 1
    someone = new_customer(api, dealer)
    invited = api.invitations.create(survey_id=survey.id, customer_id=someone.id, dealer_code=dealer.code,
                                     channel="sms")
    invitation = api.invitations.get(invited.id)
    token = invitation.url.rsplit("/", 1)[1]
    with CSLoop(network.url) as page:  # the public page needs no credentials
        assert page.public_surveys.get(token).questions
        page.public_surveys.answer(token, csi_answers(9, nps=10))
    answered = eventually(lambda: api.responses.list(customer_id=someone.id).first(), "the response")
    assert api.responses.get(answered.id).survey_id == survey.id


def test_kpi_orgs_keys_and_webhooks(admin: CSLoop, dealer: Org) -> None:
    summary = admin.kpi.summary(dealer.code, datetime.now(UTC).strftime("%Y-%m"))
    assert summary.org_code == dealer.code and summary.kpis
    code = f"DLR-{uuid.uuid4().hex[:8].upper()}"
    org = admin.orgs.create(code=code, name="SDK dealer", kind="dealer", parent_code=admin.orgs.get(dealer.code).parent_code)
    assert admin.orgs.get(code).path == org.path and code in {o.code for o in admin.orgs.list(page_size=50)}
    issued = admin.api_keys.create(org_code=code, name="dms", scopes=["customers:read"])
    assert issued.key.startswith("csk_") and issued.id in {k.id for k in admin.api_keys.list()}
    admin.api_keys.revoke(issued)
    assert "customer.created" in {event.type for event in admin.event_types.list()}
    hook = admin.webhooks.create(url="http://127.0.0.1:9/hook", event_types=["customer.created"], org_code=code)
    assert hook.secret and hook.id in {w.id for w in admin.webhooks.list()}
    assert list(admin.webhooks.deliveries(hook)) == []
    assert admin.webhooks.update(hook, event_types=["customer."]).event_types == ["customer."]
    assert admin.webhooks.get(hook.id).event_types == ["customer."]
    ping = admin.webhooks.test(hook)  # nothing listens on port 9: answered, not raised
    assert ping.webhook_id == hook.id and ping.delivered is False
    admin.webhooks.delete(hook)
