"""HTTP endpoints for a dealer's desk settings (the dealer or anyone above it)."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from services.customer import desk
from services.customer.deps import DirectoryDep, ReadRepo, WriteRepo
from services.customer.schemas import DeskSettingsRead, DeskSettingsWrite
from shared.etag import etag_for
from shared.problems import problem_responses
from shared.types import OrgCode

router = APIRouter(tags=["follow-ups"])

DealerCode = Annotated[OrgCode, Path(description="The dealer whose desk this is")]


def _shown(response: Response, settings: DeskSettingsRead) -> DeskSettingsRead:
    response.headers["ETag"] = etag_for(settings.version)
    return settings


@router.get("/v1/dealers/{code}/desk-settings", responses=problem_responses(401, 403, 404, 422))
async def get_desk_settings(code: DealerCode, repo: ReadRepo, directory: DirectoryDep,
                            response: Response) -> DeskSettingsRead:
    """The dealer's desk settings; the defaults (version 0) until it sets them."""
    return _shown(response, await desk.read_settings(repo, directory, code))


@router.put("/v1/dealers/{code}/desk-settings", responses=problem_responses(401, 403, 404, 412, 422, 428))
async def put_desk_settings(
    code: DealerCode, data: DeskSettingsWrite, repo: WriteRepo, directory: DirectoryDep, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> DeskSettingsRead:
    """Replace the dealer's desk settings: default assignees per follow-up kind (active staff
    codes of the dealer), service follow-ups for maintenance visits, max_attempts for new
    follow-ups. If-Match is required once the settings exist (the first PUT may omit it)."""
    return _shown(response, await desk.put_settings(repo, directory, code, data, if_match))
