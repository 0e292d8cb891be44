"""The customer service, asked directly when a caller names a customer the survey service has
not heard of yet, or staff codes (which the survey service keeps no list of).

A DMS creates a customer and invites them in its next call; `customer.created` may still be on
its way. The question goes with the caller's own internal token, so the customer service's
scope rules decide: a customer outside the caller's subtree is as unknown as one that never
existed. The answer is kept as the consent record the event would have made (and the event,
when it arrives, updates that record), so each customer is asked about at most once.
"""

import uuid

import httpx

from shared.auth import INTERNAL_HEADER
from shared.contracts.customer import SurveyConsentRecord
from shared.problems import ServiceUnavailable
from shared.replicas import replica_client

STAFF_BATCH = 500  # codes per staff look-up (services/customer/api_staff.py StaffCodesIn)


class CustomerSource:
    def __init__(self, customer_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = replica_client(customer_url, timeout=httpx.Timeout(5.0, connect=1.0), transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def survey_consent(self, caller_token: str, customer_id: uuid.UUID) -> SurveyConsentRecord | None:
        """The customer's consent as the caller may see it; None when the caller cannot see them."""
        try:
            answer = await self._client.get(f"/internal/customers/{customer_id}/survey-consent",
                                            headers={INTERNAL_HEADER: caller_token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("The customer service cannot be reached to look the customer up") from exc
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise ServiceUnavailable(f"The customer service answered {answer.status_code} to a customer look-up")
        return SurveyConsentRecord.model_validate(answer.json())

    async def known_staff(self, caller_token: str, dealer_code: str, codes: set[str]) -> set[str]:
        """Of these codes, those naming a staff member of the dealer (retired ones included) as the
        caller may see it: none for a dealer outside the caller's subtree."""
        ordered, known = sorted(codes), set()
        # In batches the customer service accepts: an import of 5,000 rows may name 15,000 codes.
        for start in range(0, len(ordered), STAFF_BATCH):
            try:
                answer = await self._client.post("/internal/staff/known", headers={INTERNAL_HEADER: caller_token},
                                                 json={"dealer_code": dealer_code,
                                                       "codes": ordered[start:start + STAFF_BATCH]})
            except httpx.HTTPError as exc:
                raise ServiceUnavailable("The customer service cannot be reached to look the staff codes up") from exc
            if answer.status_code != 200:
                raise ServiceUnavailable(f"The customer service answered {answer.status_code} to a staff look-up")
            known.update(answer.json()["known"])
        return known
