"""Care campaigns (issue 16 item 4, consent in audiences item 5): the audience and its size, the
launch (consent exclusion, a deterministic holdout, one campaign.message per sent customer and
never a second), the results against hand-computed figures, scope, references and bad input.

Every test gives its customers a vehicle model of its own and filters on it, so customers other
tests made at the same dealers never enter its audience."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from gateway.integrations.webhooks.subscriptions import receiving_paths
from services.customer.campaigns import in_holdout
from services.customer.models import Campaign, CampaignMember, CustomerStanding
from shared.events import new_event
from tests.customer.conftest import ClientFactory, customer_body, vin_with_check_digit
from tests.customer.test_api_customers import outbox_events

pytestmark = pytest.mark.asyncio

PATHS = {"DLR-0042": "/FTMS/D-NORTH/DLR-0042/", "DLR-0043": "/FTMS/D-NORTH/DLR-0043/", "DLR-0100": "/FTMS/D-SOUTH/DLR-0100/"}


def fresh_model() -> str:
    return f"Model-{uuid.uuid4().hex[:8]}"


async def customer(client: httpx.AsyncClient, model: str, *, dealer_code: str = "DLR-0042", marketing: bool = True,
                   share: bool = True, birth_date: str = "1985-06-15") -> dict:
    """A customer owning a car of `model` (on the dealer's file)."""
    made = await client.post("/v1/customers", json=customer_body(
        dealer_code=dealer_code, birth_date=birth_date,
        consent={"survey": True, "marketing": marketing, "share_with_manufacturer": share}))
    assert made.status_code == 201, made.text
    person = made.json()
    person["vin"] = vin_with_check_digit()
    car = await client.post("/v1/vehicles", json={"vin": person["vin"], "model": model, "owner_customer_id": person["id"]})
    assert car.status_code == 201, car.text
    return person


async def stand(app, person: dict, lifecycle: str, *, segment: str | None = None,
                last_visit_at: datetime | None = None) -> None:
    """Where the customer stands, written straight to the table (the lifecycle job is another module's)."""
    now = datetime.now(UTC)
    async with app.state.sessions() as session, session.begin():
        session.add(CustomerStanding(
            customer_id=uuid.UUID(person["id"]), dealer_code=person["dealer_code"], org_path=PATHS[person["dealer_code"]],
            lifecycle=lifecycle, lifecycle_since=now, last_visit_at=last_visit_at, frequency_24m=0, monetary_24m_minor=0,
            segment=segment, computed_at=now))


def campaign_body(**overrides: object) -> dict:
    return {"name": "中秋关怀", "kind": "care", "channel": "sms",
            "message": {"zh-CN": "中秋快乐！", "en": "Happy Mid-Autumn!"}, **overrides}


async def make(client: httpx.AsyncClient, **overrides: object) -> dict:
    made = await client.post("/v1/campaigns", json=campaign_body(**overrides))
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == f"/v1/campaigns/{made.json()['id']}"
    return made.json()


async def size(client: httpx.AsyncClient, org_code: str | None = None, **audience: object) -> int:
    return (await make(client, audience=audience, **({"org_code": org_code} if org_code else {})))["audience_size"]


def holdout_by_spec(campaign_id: str, customer_id: str, pct: int) -> bool:
    """The draw as the README states it, computed here independently of the service."""
    digest = hashlib.sha256(uuid.UUID(campaign_id).bytes + uuid.UUID(customer_id).bytes).digest()
    return int.from_bytes(digest[:8], "big") % 100 < pct


async def messages_of(app, campaign_id: str) -> list[dict]:
    return [event["data"] for event in await outbox_events(app, "campaign.message")
            if event["data"]["campaign_id"] == campaign_id]


async def members_of(app, campaign_id: str) -> dict[str, str]:
    async with app.state.sessions() as session:
        rows = await session.execute(select(CampaignMember.customer_id, CampaignMember.cohort)
                                     .where(CampaignMember.campaign_id == uuid.UUID(campaign_id)))
        return {str(customer_id): cohort for customer_id, cohort in rows}


class TestAudience:
    async def test_each_filter_narrows_the_audience_size(self, dealer: httpx.AsyncClient, app) -> None:
        model = fresh_model()
        # Six customers of the dealer with the model, one of them without marketing consent (still
        # in the audience: consent is applied at launch, and counted there).
        a = await customer(dealer, model, birth_date="1980-03-02")
        b = await customer(dealer, model, birth_date="1990-03-28", marketing=False)
        c = await customer(dealer, model, birth_date="1975-11-30")
        d = await customer(dealer, model.upper())  # the model matches in any case
        e = await customer(dealer, model)
        await customer(dealer, model)  # no standing yet: only the model and birthday filters can match it
        await customer(dealer, fresh_model())  # another model: never in the audience
        erased = await customer(dealer, model, birth_date="1980-03-05")
        assert (await dealer.post(f"/v1/customers/{erased['id']}/erase")).status_code == 200
        long_ago, lately = datetime(2025, 1, 10, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
        await stand(app, a, "at_risk", segment="loyal", last_visit_at=long_ago)
        await stand(app, b, "at_risk", segment="champion", last_visit_at=lately)
        await stand(app, c, "lapsed", segment="loyal", last_visit_at=long_ago)
        await stand(app, d, "active", segment="regular", last_visit_at=lately)
        await stand(app, e, "prospect")  # never visited: last_visit_before does not match it

        assert await size(dealer, model=model) == 6
        assert await size(dealer, model=model, lifecycle="at_risk") == 2
        assert await size(dealer, model=model, segment="loyal") == 2
        assert await size(dealer, model=model, last_visit_before="2026-01-01T00:00:00+08:00") == 2
        assert await size(dealer, model=model, birthday_month=3) == 2
        assert await size(dealer, model=model, lifecycle="at_risk", segment="loyal", birthday_month=3) == 1
        assert await size(dealer, model=model, birthday_month=4) == 0

    async def test_a_draft_counts_its_audience_when_read(self, dealer: httpx.AsyncClient) -> None:
        model = fresh_model()
        await customer(dealer, model)
        campaign = await make(dealer, audience={"model": model})
        assert campaign["audience_size"] == 1 and campaign["status"] == "draft"
        await customer(dealer, model)
        read = (await dealer.get(f"/v1/campaigns/{campaign['id']}")).json()
        assert read["audience_size"] == 2 and read["launched_at"] is None

    async def test_above_the_dealer_only_customers_who_share_are_in_it(self, client_for: ClientFactory) -> None:
        """API.md: a distributor's or the manufacturer's audience is its dealers' customers who
        share with the manufacturer; a dealer's own campaign reaches all of its customers."""
        north, d42, d43 = client_for("D-NORTH"), client_for("DLR-0042"), client_for("DLR-0043")
        model = fresh_model()
        await customer(d42, model)
        await customer(d42, model, share=False)
        await customer(d43, model, dealer_code="DLR-0043")
        await customer(d43, model, dealer_code="DLR-0043", share=False)
        await customer(client_for("DLR-0100"), model, dealer_code="DLR-0100")  # another distributor's dealer
        assert await size(north, model=model) == 2
        assert await size(north, org_code="DLR-0043", model=model) == 2  # the dealer's campaign, made from above
        assert await size(d42, model=model) == 2
        assert await size(client_for("FTMS"), model=model) == 3


class TestLaunch:
    async def test_launch_excludes_without_consent_draws_the_holdout_and_messages_the_rest_once(
            self, dealer: httpx.AsyncClient, app) -> None:
        model = fresh_model()
        people = [await customer(dealer, model) for _ in range(12)]
        refused = [await customer(dealer, model, marketing=False) for _ in range(3)]
        campaign = await make(dealer, audience={"model": model}, holdout_pct=40)
        assert campaign["audience_size"] == 15

        launched = await dealer.post(f"/v1/campaigns/{campaign['id']}/launch")
        assert launched.status_code == 200, launched.text
        body = launched.json()
        assert body["status"] == "launched" and body["audience_size"] == 15 and body["excluded_no_consent"] == 3
        held = {p["id"] for p in people if holdout_by_spec(campaign["id"], p["id"], 40)}
        sent = {p["id"] for p in people} - held
        messages = await messages_of(app, campaign["id"])
        assert sorted(m["customer_id"] for m in messages) == sorted(sent)
        assert not {p["id"] for p in refused} & {m["customer_id"] for m in messages}
        assert await members_of(app, campaign["id"]) == {**{i: "holdout" for i in held}, **{i: "sent" for i in sent}}
        # What a DMS or SMS gateway needs, and no contact data (API.md: events carry ids).
        message = messages[0]
        assert {key: message[key] for key in ("dealer_code", "org_path", "campaign_org_code", "campaign_org_path",
                                               "channel", "kind")} == {
            "dealer_code": "DLR-0042", "org_path": PATHS["DLR-0042"], "campaign_org_code": "DLR-0042",
            "campaign_org_path": PATHS["DLR-0042"], "channel": "sms", "kind": "care"}
        assert message["message"] == {"zh-CN": "中秋快乐！", "en": "Happy Mid-Autumn!"}
        assert not {"name", "phone", "email"} & set(message)

        # Launched again (a retry): the same answer, nothing published, nobody messaged twice.
        again = await dealer.post(f"/v1/campaigns/{campaign['id']}/launch")
        assert again.status_code == 200 and again.json()["launched_at"] == body["launched_at"]
        assert len(await messages_of(app, campaign["id"])) == len(sent)
        # A customer who gives consent afterwards is not added to a launched campaign.
        await customer(dealer, model)
        assert (await dealer.get(f"/v1/campaigns/{campaign['id']}")).json()["audience_size"] == 15

    async def test_the_holdout_is_the_same_on_a_re_run_and_no_message_goes_twice(
            self, dealer: httpx.AsyncClient, app) -> None:
        model = fresh_model()
        for _ in range(10):
            await customer(dealer, model)
        campaign = await make(dealer, audience={"model": model}, holdout_pct=50)
        assert (await dealer.post(f"/v1/campaigns/{campaign['id']}/launch")).status_code == 200
        first = await members_of(app, campaign["id"])
        assert len(first) == 10
        # The campaign set back to a draft, its holdout members forgotten: the draw made again
        # puts every customer where it did, and the members still held keep their messages.
        async with app.state.sessions() as session, session.begin():
            await session.execute(delete(CampaignMember).where(CampaignMember.campaign_id == uuid.UUID(campaign["id"]),
                                                               CampaignMember.cohort == "holdout"))
            await session.execute(update(Campaign).where(Campaign.id == uuid.UUID(campaign["id"]))
                                  .values(status="draft", launched_at=None, targeted=None, excluded_no_consent=None))
        assert (await dealer.post(f"/v1/campaigns/{campaign['id']}/launch")).status_code == 200
        assert await members_of(app, campaign["id"]) == first
        messages = [m["customer_id"] for m in await messages_of(app, campaign["id"])]
        assert sorted(messages) == sorted(i for i, cohort in first.items() if cohort == "sent")

    async def test_the_holdout_is_about_the_share_asked_and_differs_between_campaigns(self) -> None:
        """Over 10,000 fixed customers: each share drawn within 2 points of the percentage asked (4 standard deviations),
        and the customers held back by one campaign mostly not by another."""
        customers = [uuid.UUID(int=n) for n in range(10_000)]
        first, second = uuid.UUID(int=1), uuid.UUID(int=2)
        for pct in (0, 10, 30, 50):
            held = sum(in_holdout(first, customer, pct) for customer in customers)
            assert abs(held - pct * 100) <= 200, (pct, held)
        both = sum(in_holdout(first, c, 10) and in_holdout(second, c, 10) for c in customers)
        assert both < 200  # independent draws share about 1% (10% of 10%), not 10%

    async def test_holdout_zero_sends_to_everyone_and_has_no_uplift(self, dealer: httpx.AsyncClient, app) -> None:
        model = fresh_model()
        for _ in range(3):
            await customer(dealer, model)
        campaign = await make(dealer, audience={"model": model}, holdout_pct=0)
        await dealer.post(f"/v1/campaigns/{campaign['id']}/launch")
        results = (await dealer.get(f"/v1/campaigns/{campaign['id']}/results")).json()
        assert (results["sent"], results["holdout"], results["uplift_pts"]) == (3, 0, None)
        assert len(await messages_of(app, campaign["id"])) == 3


class TestResults:
    async def test_not_launched_has_no_results(self, dealer: httpx.AsyncClient) -> None:
        campaign = await make(dealer, audience={"model": fresh_model()})
        answer = await dealer.get(f"/v1/campaigns/{campaign['id']}/results")
        assert answer.status_code == 409 and answer.headers["content-type"] == "application/problem+json"

    async def test_visits_within_60_days_per_group_and_the_uplift_hand_computed(
            self, dealer: httpx.AsyncClient, app) -> None:
        """Four sent, two held back, launched 90 days ago. Sent: visits at days 1, 10 and 59 (the
        first customer twice: counted once), one at day 61 (outside). Holdout: one at day 30, one
        the day before the launch (outside). visited 3 of 4 and 1 of 2:
        uplift = 100 * (3/4 - 1/2) = 25.0."""
        model = fresh_model()
        sent = [await customer(dealer, model) for _ in range(4)]
        held = [await customer(dealer, model) for _ in range(2)]
        campaign = await make(dealer, audience={"model": model}, holdout_pct=30)
        launched_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
        async with app.state.sessions() as session, session.begin():
            await session.execute(update(Campaign).where(Campaign.id == uuid.UUID(campaign["id"])).values(
                status="launched", launched_at=launched_at, targeted=7, excluded_no_consent=1))
            for cohort, group in (("sent", sent), ("holdout", held)):
                for person in group:
                    session.add(CampaignMember(campaign_id=uuid.UUID(campaign["id"]), customer_id=uuid.UUID(person["id"]),
                                               dealer_code="DLR-0042", org_path=PATHS["DLR-0042"], cohort=cohort))

        async def visit(person: dict, day: float) -> None:
            opened = launched_at + timedelta(days=day)
            made = await dealer.post("/v1/service-visits", json={
                "ro_number": f"RO-{uuid.uuid4().hex[:10]}", "vin": person["vin"], "customer_id": person["id"],
                "dealer_code": "DLR-0042", "visit_type": "maintenance", "opened_at": opened.isoformat()})
            assert made.status_code == 201, made.text

        for person, day in ((sent[0], 1), (sent[0], 2), (sent[1], 10), (sent[2], 59.9), (sent[3], 61),
                            (held[0], 30), (held[1], -1)):
            await visit(person, day)
        stranger = await customer(dealer, model)  # not a member: its visit counts for no group
        await visit(stranger, 5)

        answer = await dealer.get(f"/v1/campaigns/{campaign['id']}/results")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "campaign_id": campaign["id"], "launched_at": answer.json()["launched_at"], "window_days": 60,
            "window_closed": True, "targeted": 7, "sent": 4, "excluded_no_consent": 1, "holdout": 2,
            "visited": {"sent": 3, "holdout": 1}, "uplift_pts": 25.0}
        assert datetime.fromisoformat(answer.json()["launched_at"]) == launched_at


class TestScope:
    async def test_a_sibling_or_a_child_finds_no_campaign(self, client_for: ClientFactory) -> None:
        d42, d43, north = client_for("DLR-0042"), client_for("DLR-0043"), client_for("D-NORTH")
        own = await make(d42, audience={"model": fresh_model()})
        regional = await make(north, audience={"model": fresh_model()})
        for caller, campaign in ((d43, own), (d42, regional), (client_for("D-SOUTH"), own)):
            for method, suffix in (("GET", ""), ("POST", "/launch"), ("GET", "/results")):
                answer = await caller.request(method, f"/v1/campaigns/{campaign['id']}{suffix}")
                assert answer.status_code == 404, (method, suffix, answer.text)
        assert (await north.get(f"/v1/campaigns/{own['id']}")).status_code == 200
        listed = {c["id"] for c in (await d43.get("/v1/campaigns", params={"limit": 500})).json()["items"]}
        assert own["id"] not in listed and regional["id"] not in listed
        assert (await d42.get(f"/v1/campaigns/{own['id']}")).json()["status"] == "draft"  # the sibling's launch did nothing
        # Narrowed to an org: one out of reach is answered as an unknown one.
        assert [c["id"] for c in (await north.get("/v1/campaigns", params={"org_code": "D-NORTH", "limit": 500})
                                  ).json()["items"]].count(regional["id"]) == 1
        foreign = await d43.get("/v1/campaigns", params={"org_code": "DLR-0042"})
        unknown = await d43.get("/v1/campaigns", params={"org_code": "NOPE-0000"})
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()

    async def test_a_read_key_cannot_create_or_launch(self, client_for: ClientFactory) -> None:
        reader = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        assert (await reader.post("/v1/campaigns", json=campaign_body())).status_code == 403
        campaign = await make(client_for("DLR-0042"), audience={"model": fresh_model()})
        assert (await reader.post(f"/v1/campaigns/{campaign['id']}/launch")).status_code == 403
        assert (await reader.get(f"/v1/campaigns/{campaign['id']}")).status_code == 200

    @pytest.mark.parametrize("org_code", ["DLR-0043", "D-SOUTH", "D-NORTH", "NO-SUCH-ORG"])
    async def test_an_org_out_of_reach_is_unknown(self, client_for: ClientFactory, org_code: str) -> None:
        d42 = client_for("DLR-0042")
        name = f"foreign {uuid.uuid4().hex[:8]}"
        answer = await d42.post("/v1/campaigns", json=campaign_body(org_code=org_code, name=name))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"] == [{"field": "org_code", "message": "unknown organisation"}]
        stored = (await client_for("FTMS").get("/v1/campaigns", params={"limit": 500})).json()["items"]
        assert name not in {c["name"] for c in stored}


class TestBadInput:
    @pytest.mark.parametrize(("change", "field"), [
        ({"holdout_pct": 51}, "holdout_pct"), ({"holdout_pct": -1}, "holdout_pct"),
        ({"audience": {"birthday_month": 13}}, "audience.birthday_month"),
        ({"audience": {"lifecycle": "asleep"}}, "audience.lifecycle"),
        ({"audience": {"segment": "whale"}}, "audience.segment"),
        ({"audience": {"last_visit_before": "2026-01-01T00:00:00"}}, "audience.last_visit_before"),
        ({"audience": {"vin": "X"}}, "audience.vin"),
        ({"message": {}}, "message"), ({"message": {"fr": "Bonjour"}}, "message.fr"),
        ({"message": {"en": "x" * 501}}, "message.en"), ({"kind": "spam"}, "kind"), ({"channel": "fax"}, "channel"),
        ({"name": ""}, "name"), ({"surprise": 1}, "surprise"),
    ])
    async def test_refused_with_the_field_named_and_nothing_stored(self, dealer: httpx.AsyncClient, change: dict,
                                                                   field: str) -> None:
        name = f"bad {uuid.uuid4().hex[:8]}"
        body = campaign_body(name=name) | change
        answer = await dealer.post("/v1/campaigns", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert any(error["field"].startswith(field) for error in answer.json()["errors"]), answer.text
        assert name not in (await dealer.get("/v1/campaigns", params={"limit": 500})).text

    async def test_a_campaign_id_that_is_not_a_uuid_is_422(self, dealer: httpx.AsyncClient) -> None:
        assert (await dealer.post("/v1/campaigns/not-a-uuid/launch")).status_code == 422


class TestWebhookRouting:
    async def test_a_message_goes_only_to_the_campaign_owner(self) -> None:
        """The dealer's DMS and a distributor's SMS gateway must not both send one message."""
        def message(owner: str) -> list[str]:
            event = new_event("/csloop/customer", "campaign.message", None, {
                "org_path": "/FTMS/D-NORTH/DLR-0042/", "campaign_org_path": owner})
            return receiving_paths(event, event.data["org_path"])

        assert message("/FTMS/D-NORTH/") == ["/FTMS/D-NORTH/"]
        assert message("/FTMS/D-NORTH/DLR-0042/") == ["/FTMS/D-NORTH/DLR-0042/"]
        assert message("/FTMS/D-SOUTH/") == []  # not an owner above the customer: nobody
