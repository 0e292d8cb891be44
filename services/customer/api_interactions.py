"""HTTP endpoints of the contact centre: interactions (contact history) and the screen pop."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from services.customer import interactions
from services.customer.deps import DirectoryDep, ReadRepo, WriteRepo
from services.customer.models import Interaction
from services.customer.repository import InteractionFilter
from services.customer.schemas import InteractionCreate, InteractionRead, LookupResult
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import BadRequest, UnprocessableContent, problem_responses
from shared.types import normalise_phone

router = APIRouter(tags=["contact centre"])


@router.post("/v1/interactions", status_code=201, responses=problem_responses(401, 403, 404, 422))
async def log_interaction(data: InteractionCreate, repo: WriteRepo, directory: DirectoryDep,
                          response: Response) -> InteractionRead:
    """Record a contact with a customer, a prospect or a caller known only by phone (publishes
    interaction.logged). `agent` is an active staff code of the dealer."""
    interaction = await interactions.log_interaction(repo, directory, data)
    response.headers["Location"] = f"/v1/interactions/{interaction.id}"
    [shown] = await interactions.shown(repo, [interaction])
    return shown


async def _filter(
    updated_since: UpdatedSince,
    customer_id: uuid.UUID | None = None,
    prospect_id: uuid.UUID | None = None,
    dealer_code: Annotated[str | None, Query(max_length=40)] = None,
    started_from: Annotated[AwareDatetime | None, Query(alias="from", description="Started at or after")] = None,
    started_to: Annotated[AwareDatetime | None, Query(alias="to", description="Started before")] = None,
) -> InteractionFilter:
    return InteractionFilter(customer_id=customer_id, prospect_id=prospect_id, dealer_code=dealer_code,
                             started_from=_utc("from", started_from), started_to=_utc("to", started_to),
                             updated_since=updated_since)


def _utc(field: str, value: datetime | None) -> datetime | None:
    """Kept in UTC like the column; 0001-01-01T00:00+01:00 has no UTC instant (a 422, not a 500)."""
    try:
        return value.astimezone(UTC) if value else None
    except OverflowError as exc:
        raise UnprocessableContent(f"{field} is out of range", errors=[{"field": field, "message": "out of range"}]) from exc


@router.get("/v1/interactions", responses=problem_responses(400, 401, 403, 422))
async def list_interactions(
    repo: ReadRepo, where: Annotated[InteractionFilter, Depends(_filter)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[InteractionRead]:
    """A customer's or a dealer's contact history, in the order recorded; `from`/`to` bound the start
    time. With `updated_since`, the delta feed (an erasure clears a summary and moves the row to the end)."""
    rows, next_cursor = await repo.interactions(where, page)
    return Page(items=await interactions.shown(repo, rows), next_cursor=next_cursor)


@router.get("/v1/interactions/{interaction_id}", responses=problem_responses(401, 403, 404))
async def get_interaction(interaction_id: uuid.UUID, repo: ReadRepo) -> InteractionRead:
    """Read one interaction."""
    row = await repo.get_visible(Interaction, interaction_id, missing=f"No interaction {interaction_id}")
    [shown] = await interactions.shown(repo, [row])
    return shown


def _phone(phone: Annotated[str, Query(max_length=30, description=(
        "Any format: `138 1234 5678`, `13812345678`, `+8613812345678`; a leading space is read as an "
        "unencoded `+`"))]) -> str:
    # In a query string an unencoded `+` arrives as a space: " 8613812345678" meant "+8613812345678".
    text = "+" + phone[1:] if phone.startswith(" ") and phone[1:2].isdigit() else phone
    try:
        return normalise_phone(text)
    except ValueError as exc:
        raise BadRequest("Not a phone number", errors=[{"field": "phone", "message": str(exc)}]) from exc


@router.get("/v1/lookup", responses=problem_responses(400, 401, 403, 422))
async def screen_pop(phone: Annotated[str, Depends(_phone)], repo: ReadRepo) -> LookupResult:
    """Screen pop: the customers and prospects with this phone, each with its open follow-ups,
    customers with their last visit. Masked as every read is; above the dealer a phone finds only
    customers who share with the manufacturer, and never a prospect."""
    return await interactions.lookup(repo, phone)
