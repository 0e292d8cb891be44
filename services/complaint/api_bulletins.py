"""HTTP layer for countermeasure bulletins: publish, read, acknowledge, who has not read."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.complaint import bulletins
from services.complaint.deps import DirectoryDep, LoopReadRepo, LoopWriteRepo
from services.complaint.schemas import BulletinAckRead, BulletinAcksRead, BulletinCreate, BulletinRead
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["bulletins and recalls"])


@router.post("/v1/bulletins", status_code=201, responses=problem_responses(401, 403, 422))
async def publish_bulletin(data: BulletinCreate, repo: LoopWriteRepo, response: Response) -> BulletinRead:
    """Publish a countermeasure bulletin to every dealer of your subtree (manufacturer or distributor).

    `signal_id` must be a quality signal of your subtree (else 422 `unknown quality signal`).
    """
    bulletin = await bulletins.publish(repo, data)
    response.headers["Location"] = f"/v1/bulletins/{bulletin.id}"
    return bulletin


@router.get("/v1/bulletins", responses=problem_responses(400, 401, 403, 422))
async def list_bulletins(repo: LoopReadRepo, page: Annotated[PageParams, Depends(page_params)],
                         unacknowledged: bool = False) -> Page[BulletinRead]:
    """Bulletins addressed to you (from the orgs above) and those your subtree sent, oldest first.
    `unacknowledged=true` (dealers): only those your dealership has not acknowledged."""
    items, cursor = await bulletins.list_bulletins(repo, page, unacknowledged)
    return Page(items=items, next_cursor=cursor)


@router.get("/v1/bulletins/{bulletin_id}", responses=problem_responses(401, 403, 404))
async def get_bulletin(bulletin_id: uuid.UUID, repo: LoopReadRepo) -> BulletinRead:
    """One bulletin addressed to you or sent by your subtree."""
    return await bulletins.read(repo, bulletin_id)


@router.post("/v1/bulletins/{bulletin_id}/ack", status_code=201, responses=problem_responses(401, 403, 404, 409))
async def acknowledge_bulletin(bulletin_id: uuid.UUID, repo: LoopWriteRepo) -> BulletinAckRead:
    """Acknowledge a bulletin for your dealership (dealers only, once: again is 409)."""
    return await bulletins.acknowledge(repo, bulletin_id)


@router.get("/v1/bulletins/{bulletin_id}/acks", responses=problem_responses(401, 403, 404, 503))
async def bulletin_acks(bulletin_id: uuid.UUID, repo: LoopReadRepo, directory: DirectoryDep) -> BulletinAcksRead:
    """Which addressed dealers have read the bulletin, and which have not (the sender and those above it)."""
    return await bulletins.acks(repo, directory, bulletin_id)
