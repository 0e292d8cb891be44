"""What a new improvement plan names that the KPI service does not hold: the complaint a corrective
action comes from (complaint service), and a staff member whose `staff.changed` has not arrived yet
(customer service).

Both questions go with the caller's own internal token, so the source's scope rules decide: a
record outside the caller's subtree is as unknown as one that never existed.
"""

import uuid
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from shared.auth import INTERNAL_HEADER
from shared.contracts.customer import StaffChanged
from shared.problems import ServiceUnavailable
from shared.replicas import replica_client


class CorrectiveActionOut(BaseModel):
    description: str
    owner: str
    due: str


class ComplaintCorrectiveAction(BaseModel):
    """The complaint service's `GET /internal/complaints/{id}/corrective-action`."""

    complaint_id: uuid.UUID
    dealer_code: str
    org_path: str
    corrective_action: CorrectiveActionOut | None


class PlanSources:
    def __init__(self, customer_url: str, complaint_url: str, *, customer_transport: httpx.AsyncBaseTransport | None = None,
                 complaint_transport: httpx.AsyncBaseTransport | None = None) -> None:
        timeout = httpx.Timeout(5.0, connect=1.0)
        self._customer = replica_client(customer_url, timeout=timeout, transport=customer_transport)
        self._complaint = replica_client(complaint_url, timeout=timeout, transport=complaint_transport)

    async def close(self) -> None:
        await self._customer.aclose()
        await self._complaint.aclose()

    async def staff_member(self, caller_token: str, dealer_code: str, code: str) -> StaffChanged | None:
        """The dealer's staff member with this code as the caller may see it (retired or not); None if none."""
        path = f"/internal/staff/{quote(dealer_code, safe='')}/{quote(code, safe='')}"
        body = await self._get(self._customer, "customer", path, caller_token)
        return None if body is None else StaffChanged.model_validate(body)

    async def corrective_action(self, caller_token: str, complaint_id: uuid.UUID) -> ComplaintCorrectiveAction | None:
        body = await self._get(self._complaint, "complaint", f"/internal/complaints/{complaint_id}/corrective-action",
                               caller_token)
        return None if body is None else ComplaintCorrectiveAction.model_validate(body)

    @staticmethod
    async def _get(client: httpx.AsyncClient, service: str, path: str, caller_token: str) -> dict[str, object] | None:
        try:
            answer = await client.get(path, headers={INTERNAL_HEADER: caller_token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {service} service cannot be reached to check the plan's references") from exc
        if answer.status_code in (404, 422):
            # 422: the source refused the value outright (a code no record can have): unknown as well.
            return None
        if answer.status_code != 200:
            raise ServiceUnavailable(f"The {service} service answered {answer.status_code} to a plan reference check")
        return dict(answer.json())
