"""`GET /v1/customers/{id}/360`: the customer and their parts from every service, in parallel.

A part whose service is down, absent or refusing becomes a name in `unavailable`; only the
customer itself is required (missing or outside the caller's subtree: 404).

Personal data: every part is asked for with the caller's own principal (internal token), so
the customer service masks the customer part for this caller exactly as on GET one (scopes,
and consent to share above the dealer); never fetch a part with a system token. The other
parts name the customer by id only.
"""

import asyncio
import uuid
from typing import Any

import aiohttp
import structlog
from fastapi import APIRouter, Request

from gateway.deps import caller_with
from gateway.edge.upstreams import Upstream, Upstreams
from shared.auth import INTERNAL_HEADER
from shared.contracts.view360 import Customer360
from shared.problems import Forbidden, NotFound, ServiceUnavailable, problem_responses

router = APIRouter(prefix="/v1")

PART_LIMIT = 500
# part -> (service, path, query parameter naming the customer)
PARTS: dict[str, tuple[str, str, str]] = {
    "vehicles": ("customer", "/v1/vehicles", "owner_customer_id"),
    "visits": ("customer", "/v1/service-visits", "customer_id"),
    "survey_responses": ("survey", "/v1/survey-responses", "customer_id"),
    "complaints": ("complaint", "/v1/complaints", "customer_id"),
    "interactions": ("customer", "/v1/interactions", "customer_id"),
    "appointments": ("customer", "/v1/appointments", "customer_id"),
}


class PartFailed(Exception):
    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status


@router.get("/customers/{customer_id}/360", tags=["customers"], responses=problem_responses(401, 403, 404, 503))
async def customer_360(customer_id: uuid.UUID, caller: caller_with("customers:read"), request: Request) -> Customer360:
    """The customer with vehicles, visits, survey responses, complaints, interactions (contact
    history) and appointments, from every service."""
    state = request.app.state
    headers = {INTERNAL_HEADER: state.authenticator.internal_token(caller), "accept": "application/json"}
    if request_id := structlog.contextvars.get_contextvars().get("request_id"):
        headers["x-request-id"] = request_id
    timeout = aiohttp.ClientTimeout(total=state.settings.view360_timeout_seconds)
    return await assemble(state.upstreams, str(customer_id), headers, timeout)


async def assemble(upstreams: Upstreams, customer_id: str, headers: dict[str, str],
                   timeout: aiohttp.ClientTimeout) -> Customer360:
    customer_call = _get(upstreams["customer"], f"/v1/customers/{customer_id}", {}, headers, timeout)
    part_calls = [
        _get(upstreams[service], path, {param: customer_id, "limit": str(PART_LIMIT)}, headers, timeout)
        for service, path, param in PARTS.values()
    ]
    customer, *parts = await asyncio.gather(customer_call, *part_calls, return_exceptions=True)
    found = {name: _items(result) for name, result in zip(PARTS, parts) if not isinstance(result, BaseException)}
    return Customer360(customer=_required_customer(customer, customer_id), **found,
                       unavailable=[name for name in PARTS if name not in found])


def _required_customer(result: Any, customer_id: str) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    status = result.status if isinstance(result, PartFailed) else None
    if status == 404:
        raise NotFound(f"No customer {customer_id} in your organisation")
    if status in (401, 403):
        raise Forbidden("The customer service refused this caller")
    raise ServiceUnavailable("The customer service cannot be reached; the 360 view needs it")


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]
    return body if isinstance(body, list) else []


async def _get(upstream: Upstream, path: str, query: dict[str, str], headers: dict[str, str],
               timeout: aiohttp.ClientTimeout) -> Any:
    if upstream.client is None:
        raise PartFailed(None)
    try:
        async with upstream.request("GET", path, encoded=False, params=query, headers=headers,
                                    timeout=timeout) as response:
            if response.status != 200:
                raise PartFailed(response.status)
            return await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise PartFailed(None) from exc
