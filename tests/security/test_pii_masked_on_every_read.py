"""Finding 1: phone and e-mail were masked only in lists. A key with `customers:read` and no
`pii:read` read them whole from GET one, the answers of POST/PATCH/erase, prospects and the
360 view. Every answer that leaves the customer service is masked by the caller's scopes.

The customer service runs in process over a database of its own (tests/customer style);
the 360 view is checked through the real gateway (tests/e2e style).
"""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.types import mask_email, mask_phone
from tests.customer.conftest import ClientFactory, clients_of, customer_body, new_phone, running_customer_service
from tests.support.databases import unit_database_url
from tests.support.suite import Network

NO_PII = frozenset({"customers:read", "customers:write"})
EMAIL = "wang.fang@example.com"


@pytest.fixture(scope="module")
async def as_org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ClientFactory]:
    url = await unit_database_url(tmp_path_factory, "pii_reads")
    async with running_customer_service(url) as app, clients_of(app) as make:
        yield make


@pytest.fixture(scope="module")
def blind(as_org: ClientFactory) -> httpx.AsyncClient:
    """A key of the customer's own dealer that may read and write customers, not personal data."""
    return as_org("DLR-0042", NO_PII)


def assert_masked(answer: httpx.Response, phone: str, email: str | None = EMAIL) -> dict:
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    assert phone not in answer.text and phone[3:] not in answer.text, body
    assert body["phone"] == mask_phone(phone)
    if email is not None:
        assert email not in answer.text
        assert body["email"] == mask_email(email)
    return body


async def created(client: httpx.AsyncClient, phone: str) -> dict:
    answer = await client.post("/v1/customers", json=customer_body(phone=phone, email=EMAIL))
    assert answer.status_code == 201, answer.text
    return answer.json()


class TestCustomers:
    async def test_post_answer_is_masked(self, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        assert_masked(await blind.post("/v1/customers", json=customer_body(phone=phone, email=EMAIL)), phone)

    async def test_get_one_is_masked(self, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        customer = await created(blind, phone)
        body = assert_masked(await blind.get(f"/v1/customers/{customer['id']}"), phone)
        assert body["name"] == "Li Wei"  # the dealer's own customer: only the contacts are personal data here

    async def test_patch_answer_is_masked_also_when_it_sets_the_contacts(self, blind: httpx.AsyncClient) -> None:
        customer = await created(blind, new_phone())
        phone = new_phone()
        answer = await blind.patch(f"/v1/customers/{customer['id']}", json={"phone": phone, "city": "Dalian"},
                                   headers={"If-Match": '"v1"'})
        assert assert_masked(answer, phone)["city"] == "Dalian"

    async def test_erase_answer_holds_no_contact(self, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        customer = await created(blind, phone)
        answer = await blind.post(f"/v1/customers/{customer['id']}/erase")
        assert answer.status_code == 200 and answer.json()["erased"] is True
        assert phone[3:] not in answer.text and EMAIL not in answer.text

    async def test_list_is_masked(self, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        await created(blind, phone)
        answer = await blind.get("/v1/customers", params={"phone": phone})
        [item] = answer.json()["items"]
        assert item["phone"] == mask_phone(phone) and phone[3:] not in answer.text

    async def test_a_key_with_pii_read_sees_them_whole(self, as_org: ClientFactory) -> None:
        phone = new_phone()
        customer = await created(as_org("DLR-0042"), phone)
        body = (await as_org("DLR-0042").get(f"/v1/customers/{customer['id']}")).json()
        assert (body["phone"], body["email"]) == (phone, EMAIL)

    async def test_import_errors_never_echo_a_phone(self, as_org: ClientFactory, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        await created(as_org("DLR-0042"), phone)
        body = f"external_id,name,phone\nX-{uuid.uuid4().hex[:10]},王芳,{phone}\nX-{uuid.uuid4().hex[:10]},李娜,12345\n"
        answer = await blind.post("/v1/customers/import", params={"dealer_code": "DLR-0042"}, content=body.encode(),
                                  headers={"content-type": "text/csv"})
        assert answer.status_code == 200 and answer.json()["failed"] == 2, answer.text
        assert phone[3:] not in answer.text and "12345" not in answer.text


class TestProspects:
    async def test_post_get_and_patch_answers_are_masked(self, blind: httpx.AsyncClient) -> None:
        phone = new_phone()
        answer = await blind.post("/v1/prospects", json={"name": "赵敏", "phone": phone, "level": "A"})
        prospect = assert_masked(answer, phone, email=None)
        assert_masked(await blind.get(f"/v1/prospects/{prospect['id']}"), phone, email=None)
        answer = await blind.patch(f"/v1/prospects/{prospect['id']}", json={"level": "H"}, headers={"If-Match": '"v1"'})
        assert assert_masked(answer, phone, email=None)["level"] == "H"

    async def test_a_key_with_pii_read_sees_the_phone(self, as_org: ClientFactory) -> None:
        phone = new_phone()
        answer = await as_org("DLR-0042").post("/v1/prospects", json={"name": "赵敏", "phone": phone, "level": "B"})
        assert answer.json()["phone"] == phone


@pytest.mark.e2e
def test_360_view_through_the_gateway_is_masked_without_pii_read(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    blind_key = network.key_for(dealer.code, ["customers:read", "complaints:read", "surveys:read"])
    phone = new_phone()
    answer = dealer.client.post("/v1/customers", json={
        "dealer_code": dealer.code, "name": "王芳", "phone": phone, "email": EMAIL,
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}})
    assert answer.status_code == 201, answer.text
    view = blind_key.client.get(f"/v1/customers/{answer.json()['id']}/360")
    assert view.status_code == 200, view.text
    assert view.json()["unavailable"] == []
    customer = view.json()["customer"]
    assert (customer["phone"], customer["email"]) == (mask_phone(phone), mask_email(EMAIL))
    assert phone[3:] not in view.text and EMAIL not in view.text
