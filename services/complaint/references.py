"""Do the customer, vehicle, visit and survey response a new case names belong to its dealer?

The complaint service keeps none of these records, so it asks the services that do, with the
caller's own internal token: their scope rules decide, and a record of another subtree is
as unknown as one that never existed. Which calls are made depends only on which fields are
given, never on their values, so unknown, invisible and another dealer's records all take
the same path and give the same 422.
"""

import asyncio
from typing import Any

import httpx

from services.complaint.schemas import ComplaintCreate
from shared.auth import INTERNAL_HEADER
from shared.problems import ServiceUnavailable, UnprocessableContent
from shared.replicas import replica_client

CUSTOMER_FIELDS = ("customer_id", "vin", "ro_number")
KINDS = {"customer_id": "customer", "vin": "vehicle", "ro_number": "visit", "survey_response_id": "response"}


class ReferenceSources:
    def __init__(self, customer_url: str, survey_url: str, *, customer_transport: httpx.AsyncBaseTransport | None = None,
                 survey_transport: httpx.AsyncBaseTransport | None = None) -> None:
        timeout = httpx.Timeout(5.0, connect=1.0)
        self._customer = replica_client(customer_url, timeout=timeout, transport=customer_transport)
        self._survey = replica_client(survey_url, timeout=timeout, transport=survey_transport)

    async def close(self) -> None:
        await self._customer.aclose()
        await self._survey.aclose()

    async def check(self, caller_token: str, data: ComplaintCreate) -> None:
        """Nothing, or a 422 listing every reference that is not the named dealer's (503 if a source is down)."""
        named = data.model_dump(mode="json", include={"customer_id", "vin", "ro_number", "survey_response_id"},
                                exclude_none=True)
        calls = []
        if any(field in named for field in CUSTOMER_FIELDS):
            calls.append(self._ask(self._customer, "customer", caller_token, CUSTOMER_FIELDS, {
                "dealer_code": data.dealer_code, **{k: v for k, v in named.items() if k in CUSTOMER_FIELDS}}))
        if "survey_response_id" in named:
            calls.append(self._ask(self._survey, "survey", caller_token, ("survey_response_id",), {
                "dealer_code": data.dealer_code, "survey_response_id": named["survey_response_id"],
                **({"customer_id": named["customer_id"]} if "customer_id" in named else {})}))
        errors = [error for answer in await asyncio.gather(*calls) for error in answer]
        if errors:
            raise UnprocessableContent("The case names records that are not this dealer's", errors=errors)

    @staticmethod
    async def _ask(client: httpx.AsyncClient, service: str, caller_token: str, judged: tuple[str, ...],
                   body: dict[str, Any]) -> list[dict[str, str]]:
        try:
            response = await client.post("/internal/references", json=body, headers={INTERNAL_HEADER: caller_token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {service} service cannot be reached to check the case's references") from exc
        if response.status_code == 422:
            # The source refused a value outright (a NUL its database cannot hold): no record has it.
            return [{"field": name, "message": f"unknown {KINDS[name]}"} for name in judged if name in body]
        if response.status_code != 200:
            raise ServiceUnavailable(f"The {service} service answered {response.status_code} to a reference check")
        return list(response.json()["errors"])
