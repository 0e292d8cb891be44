"""Issue 10, finding 3 (survey part): a `customer_id` in an invitation or an imported result
resolves through a lookup scoped to the caller's subtree AND the dealer the body names.

A sibling's customer, a cousin's, another dealer's than the one named and an id nobody knows
get the same 422 (the same row error in an import), before consent or fatigue are looked at:
no invitation is made for the foreign customer (so it is not blocked 30 days by fatigue) and
its consent state cannot be probed by id.
"""

import uuid
from typing import Any

import httpx
import pytest

from tests.survey.conftest import (ORGS, app, as_, client, database_url, deliver, give_consent,  # noqa: F401
                                   new_code, published_survey)

UNKNOWN = [{"field": "customer_id", "message": "unknown customer"}]
NPS_ANSWERS = {"nps": 9}


async def _customer(client: httpx.AsyncClient, dealer: str, *, survey: bool = True) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await give_consent(client, customer_id, dealer, survey=survey)
    return customer_id


async def _invite(client: httpx.AsyncClient, survey_id: str, customer_id: uuid.UUID, dealer: str = "D1",
                  caller: str | None = None, **extra: Any) -> httpx.Response:
    body = {"survey_id": survey_id, "customer_id": str(customer_id), "dealer_code": dealer, "channel": "sms", **extra}
    return await client.post("/v1/survey-invitations", json=body, headers=as_(caller or dealer))


def _without_instance(answer: httpx.Response) -> dict[str, Any]:
    return {key: value for key, value in answer.json().items() if key != "instance"}


@pytest.fixture(scope="module")
async def nps(client: httpx.AsyncClient) -> str:
    return (await published_survey(client, {"template": "nps", "code": new_code()}))["id"]


class TestInvitations:
    async def test_sibling_cousin_and_unknown_customers_get_the_same_422(self, client: httpx.AsyncClient,
                                                                         nps: str) -> None:
        foreign = {"sibling": await _customer(client, "D2"), "cousin": await _customer(client, "D3"),
                   "unknown": uuid.uuid4()}
        answers = {who: await _invite(client, nps, customer_id, consent_confirmed=True)
                   for who, customer_id in foreign.items()}
        for who, answer in answers.items():
            assert answer.status_code == 422, (who, answer.text)
            assert answer.json()["errors"] == UNKNOWN, who
        assert len({str(_without_instance(answer)) for answer in answers.values()}) == 1

    async def test_a_customer_of_another_dealer_than_the_one_named_is_unknown_even_from_above(
            self, client: httpx.AsyncClient, nps: str) -> None:
        of_d2 = await _customer(client, "D2")
        for caller in ("DN", "OEM"):
            answer = await _invite(client, nps, of_d2, dealer="D1", caller=caller)
            assert answer.status_code == 422 and answer.json()["errors"] == UNKNOWN, (caller, answer.text)

    async def test_consent_state_of_a_foreign_customer_cannot_be_probed(self, client: httpx.AsyncClient,
                                                                        nps: str) -> None:
        consenting, refusing = await _customer(client, "D2"), await _customer(client, "D2", survey=False)
        erased = await _customer(client, "D2")
        await deliver(client, "customer.erased", {"dealer_code": "D2", "org_path": ORGS["D2"]["path"],
                                                  "customer_id": str(erased), "erased_at": "2026-01-01T00:00:00+00:00"})
        bodies = set()
        for customer_id in (consenting, refusing, erased, uuid.uuid4()):
            answer = await _invite(client, nps, customer_id)
            assert answer.status_code == 422, answer.text
            bodies.add(str(_without_instance(answer)))
        assert len(bodies) == 1

    async def test_a_refused_foreign_invitation_leaves_no_fatigue_on_that_customer(
            self, client: httpx.AsyncClient, nps: str) -> None:
        of_d2 = await _customer(client, "D2")
        assert (await _invite(client, nps, of_d2, consent_confirmed=True)).status_code == 422
        listed = await client.get("/v1/survey-invitations", params={"customer_id": str(of_d2)}, headers=as_("OEM"))
        assert listed.json()["items"] == []
        own = await _invite(client, nps, of_d2, dealer="D2")
        assert own.status_code == 201, own.text

    async def test_the_named_dealers_own_customer_is_invited(self, client: httpx.AsyncClient, nps: str) -> None:
        assert (await _invite(client, nps, await _customer(client, "D1"))).status_code == 201
        assert (await _invite(client, nps, await _customer(client, "D1"), caller="OEM")).status_code == 201


class TestImports:
    @staticmethod
    def _row(customer_id: uuid.UUID, dealer: str = "D1") -> dict[str, Any]:
        return {"external_id": "x-" + uuid.uuid4().hex[:12], "dealer_code": dealer, "customer_id": str(customer_id),
                "submitted_at": "2026-01-10T09:00:00+08:00", "answers": NPS_ANSWERS}

    async def _import(self, client: httpx.AsyncClient, survey_id: str, rows: list[dict[str, Any]],
                      caller: str) -> dict[str, Any]:
        answer = await client.post("/v1/survey-responses/import", json={"survey_id": survey_id, "responses": rows},
                                   headers=as_(caller))
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def test_foreign_and_unknown_customers_are_the_same_row_error(self, client: httpx.AsyncClient) -> None:
        own = (await published_survey(client, {"template": "nps", "code": new_code()}, owner="D1"))["id"]
        rows = [self._row(await _customer(client, "D2")), self._row(await _customer(client, "D3")),
                self._row(uuid.uuid4()), self._row(await _customer(client, "D1"))]
        body = await self._import(client, own, rows, "D1")
        assert (body["created"], body["failed"]) == (1, 3)
        assert body["errors"] == [{"row": row, **UNKNOWN[0]} for row in (1, 2, 3)]
        stored = await client.get("/v1/survey-responses", params={"survey_id": own}, headers=as_("OEM"))
        assert [item["customer_id"] for item in stored.json()["items"]] == [rows[3]["customer_id"]]

    async def test_the_owner_above_cannot_file_a_customer_under_another_dealer(self, client: httpx.AsyncClient,
                                                                               nps: str) -> None:
        of_d2 = await _customer(client, "D2")
        body = await self._import(client, nps, [self._row(of_d2, "D1"), self._row(of_d2, "D2")], "OEM")
        assert (body["created"], body["failed"]) == (1, 1)
        assert body["errors"] == [{"row": 1, **UNKNOWN[0]}]
