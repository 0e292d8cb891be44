"""Finding 2: `consent.share_with_manufacturer` was stored and never enforced. Above the
customer's dealer (a manufacturer, a distributor) a customer who does not share is seen as a
first character of the name, masked phone and e-mail and no birth date, even with
`pii:read`; searches by `phone` or `q` from above never find them. Prospects give no such
consent: above the dealer they are never shown whole. The dealer sees its own by `pii:read`.

The customer service runs in process over a database of its own (tests/customer style);
the 360 view is checked through the real gateway (tests/e2e style).
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from shared.pagination import MAX_LIMIT
from shared.types import mask_email, mask_phone
from tests.customer.conftest import (
    ClientFactory, clients_of, customer_body, new_phone, running_customer_service, vin_with_check_digit,
)
from tests.support.databases import unit_database_url
from tests.support.suite import Network

ABOVE = ["FTMS", "D-NORTH"]  # the manufacturer and the distributor above DLR-0042
EMAIL = "zhang.san@example.com"


@pytest.fixture(scope="module")
async def as_org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ClientFactory]:
    url = await unit_database_url(tmp_path_factory, "pii_consent")
    async with running_customer_service(url) as app, clients_of(app) as make:
        yield make


@dataclass
class Person:
    id: str
    external_id: str
    name: str
    phone: str


async def customer_of_dealer(as_org: ClientFactory, name: str, *, shares: bool) -> Person:
    body = customer_body(name=name, phone=new_phone(), email=EMAIL, birth_date="1979-03-08", city="Tianjin",
                         consent={"survey": True, "marketing": False, "share_with_manufacturer": shares})
    answer = await as_org("DLR-0042").post("/v1/customers", json=body)
    assert answer.status_code == 201, answer.text
    return Person(answer.json()["id"], body["external_id"], name, body["phone"])


@pytest.fixture
async def private(as_org: ClientFactory) -> Person:
    return await customer_of_dealer(as_org, "张三", shares=False)


@pytest.fixture
async def sharing(as_org: ClientFactory) -> Person:
    return await customer_of_dealer(as_org, "李四", shares=True)


def assert_hidden(body: dict, person: Person) -> None:
    assert body["name"] == person.name[0] + "*"
    assert (body["phone"], body["email"], body["birth_date"]) == (mask_phone(person.phone), mask_email(EMAIL), None)
    # What is not personal stays: ids, the dealer, the city, the consent itself.
    assert (body["id"], body["external_id"], body["dealer_code"], body["city"]) == (
        person.id, person.external_id, "DLR-0042", "Tianjin")
    assert body["consent"]["share_with_manufacturer"] is False
    # Where they stand with the dealer is about them too (issue 16): nothing of it.
    assert (body["lifecycle"], body["value"]) == (None, None)


def assert_whole(body: dict, person: Person) -> None:
    assert (body["name"], body["phone"], body["email"], body["birth_date"]) == (
        person.name, person.phone, EMAIL, "1979-03-08")
    assert body["lifecycle"] == "prospect" and body["value"]["frequency_24m"] == 0  # no visit yet


async def found(client: httpx.AsyncClient, **query: str) -> list[str]:
    answer = await client.get("/v1/customers", params=query)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


class TestAboveTheDealer:
    @pytest.mark.parametrize("org", ABOVE)
    async def test_non_sharing_customer_is_masked_even_with_pii_read(self, as_org: ClientFactory, org: str,
                                                                     private: Person) -> None:
        answer = await as_org(org).get(f"/v1/customers/{private.id}")
        assert answer.status_code == 200
        assert_hidden(answer.json(), private)
        assert private.phone[3:] not in answer.text and EMAIL not in answer.text and "张三" not in answer.text

    @pytest.mark.parametrize("org", ABOVE)
    async def test_sharing_customer_is_seen_whole_with_pii_read(self, as_org: ClientFactory, org: str,
                                                                sharing: Person) -> None:
        assert_whole((await as_org(org).get(f"/v1/customers/{sharing.id}")).json(), sharing)

    @pytest.mark.parametrize("org", ABOVE)
    async def test_list_shows_non_sharing_customer_masked(self, as_org: ClientFactory, org: str, private: Person,
                                                          sharing: Person) -> None:
        answer = await as_org(org).get("/v1/customers", params={"dealer_code": "DLR-0042", "limit": MAX_LIMIT})
        items = {item["id"]: item for item in answer.json()["items"]}
        assert_hidden(items[private.id], private)
        assert_whole(items[sharing.id], sharing)

    @pytest.mark.parametrize("org", ABOVE)
    async def test_phone_q_and_lifecycle_searches_never_find_a_non_sharing_customer(
            self, as_org: ClientFactory, org: str, private: Person, sharing: Person) -> None:
        above = as_org(org)
        for query in ({"phone": private.phone}, {"q": "张三"}, {"q": private.external_id}, {"q": "zhang.san@"},
                      {"q": private.external_id, "dealer_code": "DLR-0042"}, {"lifecycle": "prospect"},
                      {"lifecycle": "prospect", "dealer_code": "DLR-0042"}):
            assert private.id not in await found(above, **query), query
        assert sharing.id in await found(above, lifecycle="prospect", limit=str(MAX_LIMIT))
        assert await found(above, phone=sharing.phone) == [sharing.id]
        assert await found(above, q=sharing.external_id) == [sharing.id]

    async def test_write_answers_from_above_are_masked_too(self, as_org: ClientFactory, private: Person) -> None:
        answer = await as_org("FTMS").patch(f"/v1/customers/{private.id}", json={"city": "Tianjin"},
                                            headers={"If-Match": '"v1"'})
        assert answer.status_code == 200, answer.text
        assert_hidden(answer.json(), private)

    async def test_a_duplicate_phone_from_above_does_not_name_the_non_sharing_customer(
            self, as_org: ClientFactory, private: Person, sharing: Person) -> None:
        for person, named in ((private, False), (sharing, True)):
            answer = await as_org("FTMS").post("/v1/customers", json=customer_body(phone=person.phone))
            assert answer.status_code == 409
            assert ("existing_id" in answer.json()) is named, answer.text

    async def test_an_import_from_above_does_not_name_the_owner_of_a_non_sharing_phone(
            self, as_org: ClientFactory, private: Person, sharing: Person) -> None:
        rows = "".join(f"X-{uuid.uuid4().hex[:10]},王芳,{person.phone}\n" for person in (private, sharing))
        answer = await as_org("D-NORTH").post("/v1/customers/import", params={"dealer_code": "DLR-0042"},
                                              content=("external_id,name,phone\n" + rows).encode(),
                                              headers={"content-type": "text/csv"})
        assert answer.status_code == 200, answer.text
        messages = [error["message"] for error in answer.json()["errors"]]
        assert messages == ["already the phone of another customer", f"already the phone of customer {sharing.id}"]
        assert private.id not in answer.text

    async def test_consenting_later_shows_the_customer(self, as_org: ClientFactory, private: Person) -> None:
        answer = await as_org("DLR-0042").patch(f"/v1/customers/{private.id}", headers={"If-Match": '"v1"'},
                                                json={"consent": {"share_with_manufacturer": True}})
        assert answer.status_code == 200, answer.text
        assert_whole((await as_org("D-NORTH").get(f"/v1/customers/{private.id}")).json(), private)
        assert await found(as_org("FTMS"), phone=private.phone) == [private.id]

    @pytest.mark.parametrize("org", ABOVE)
    async def test_prospects_are_never_shown_whole_above_the_dealer(self, as_org: ClientFactory, org: str) -> None:
        phone = new_phone()
        answer = await as_org("DLR-0042").post("/v1/prospects", json={"name": "赵敏", "phone": phone, "level": "A"})
        prospect = answer.json()
        assert (prospect["name"], prospect["phone"]) == ("赵敏", phone)
        seen = (await as_org(org).get(f"/v1/prospects/{prospect['id']}")).json()
        assert (seen["name"], seen["phone"]) == ("赵*", mask_phone(phone))

    @pytest.mark.parametrize("org", ABOVE)
    async def test_a_campaign_from_above_never_reaches_a_non_sharing_customer(self, as_org: ClientFactory,
                                                                              org: str) -> None:
        """Item 5 of issue 16: the audience above the dealer holds only those who share (both
        accept marketing here); the dealer's own campaign reaches both."""
        model = f"Consent-{uuid.uuid4().hex[:8]}"
        for shares in (True, False):
            made = await as_org("DLR-0042").post("/v1/customers", json=customer_body(
                phone=new_phone(), consent={"survey": True, "marketing": True, "share_with_manufacturer": shares}))
            assert made.status_code == 201, made.text
            car = await as_org("DLR-0042").post("/v1/vehicles", json={
                "vin": vin_with_check_digit(), "model": model, "owner_customer_id": made.json()["id"]})
            assert car.status_code == 201, car.text
        for caller, reached in ((org, 1), ("DLR-0042", 2)):
            made = await as_org(caller).post("/v1/campaigns", json={
                "name": "关怀", "kind": "care", "channel": "sms", "message": {"zh-CN": "您好"}, "holdout_pct": 0,
                "audience": {"model": model}})
            assert made.status_code == 201 and made.json()["audience_size"] == reached, made.text
            assert (await as_org(caller).post(f"/v1/campaigns/{made.json()['id']}/launch")).status_code == 200
            results = (await as_org(caller).get(f"/v1/campaigns/{made.json()['id']}/results")).json()
            assert (results["targeted"], results["sent"]) == (reached, reached), results



class TestTheDealer:
    async def test_dealer_with_pii_read_sees_its_own_customers_whole_and_finds_them(
            self, as_org: ClientFactory, private: Person) -> None:
        dealer = as_org("DLR-0042")
        assert_whole((await dealer.get(f"/v1/customers/{private.id}")).json(), private)
        assert await found(dealer, phone=private.phone) == [private.id]
        assert private.id in await found(dealer, q="张三")

    async def test_dealer_without_pii_read_sees_the_name_but_masked_contacts(
            self, as_org: ClientFactory, private: Person) -> None:
        body = (await as_org("DLR-0042", frozenset({"customers:read"})).get(f"/v1/customers/{private.id}")).json()
        assert (body["name"], body["phone"], body["birth_date"]) == ("张三", mask_phone(private.phone), "1979-03-08")


@pytest.mark.e2e
def test_360_view_from_above_masks_a_non_sharing_customer(network: Network) -> None:
    distributor = network.org("distributor")
    dealer = network.org("dealer", distributor)
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    ids = {}
    for name, shares in (("张三", False), ("李四", True)):
        answer = dealer.client.post("/v1/customers", json={
            "dealer_code": dealer.code, "name": name, "phone": phone if not shares else None, "email": EMAIL,
            "birth_date": "1979-03-08", "consent": {"survey": True, "marketing": False, "share_with_manufacturer": shares}})
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["id"]
    for above in (network.manufacturer, distributor):
        view = above.client.get(f"/v1/customers/{ids['张三']}/360")
        assert view.status_code == 200, view.text
        customer = view.json()["customer"]
        assert (customer["name"], customer["phone"], customer["email"]) == ("张*", mask_phone(phone), mask_email(EMAIL))
        assert "张三" not in view.text and phone[3:] not in view.text and EMAIL not in view.text
        assert above.client.get(f"/v1/customers/{ids['李四']}/360").json()["customer"]["name"] == "李四"
    own = dealer.client.get(f"/v1/customers/{ids['张三']}/360").json()["customer"]
    assert (own["name"], own["phone"], own["email"]) == ("张三", phone, EMAIL)
