"""HTTP layer for templates, surveys and their versions."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from services.survey import surveys
from services.survey.definition import Kind
from services.survey.deps import ReadRepo, WriteRepo
from services.survey.models import Survey
from services.survey.schemas import SurveyCreate, SurveyRead, SurveyUpdate, SurveyVersionRead, TemplateRead
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["surveys"])


@router.get("/v1/survey-templates", responses=problem_responses(401, 403))
async def list_templates(repo: ReadRepo) -> list[TemplateRead]:
    """The built-in templates (csi, ssi, nps, servqual, resolution)."""
    return surveys.list_templates()


@router.post("/v1/surveys", status_code=201, responses=problem_responses(401, 403, 409, 422))
async def create_survey(data: SurveyCreate, repo: WriteRepo, response: Response) -> SurveyRead:
    """Create a survey draft from a template or a full definition; publish it to use it."""
    survey = await surveys.create_survey(repo, data)
    response.headers["ETag"] = etag_for(survey.version)
    response.headers["Location"] = f"/v1/surveys/{survey.id}"
    return surveys.to_read(survey)


@router.get("/v1/surveys", responses=problem_responses(400, 401, 403, 422))
async def list_surveys(repo: ReadRepo, page: Annotated[PageParams, Depends(page_params)], updated_since: UpdatedSince,
                       kind: Kind | None = None) -> Page[SurveyRead]:
    """Surveys of your organisation, the ones below it, and the ones above it you may use, oldest first
    (with `updated_since`, oldest change first)."""
    rows, cursor = await repo.surveys(kind, page, updated_since)
    return Page(items=[surveys.to_read(row) for row in rows], next_cursor=cursor)


@router.get("/v1/surveys/{survey_id}", responses=problem_responses(401, 403, 404))
async def get_survey(survey_id: uuid.UUID, repo: ReadRepo, response: Response) -> SurveyRead:
    """A survey with its current draft and the number of its newest published version."""
    survey = await repo.get_visible(Survey, survey_id)
    response.headers["ETag"] = etag_for(survey.version)
    return surveys.to_read(survey)


@router.patch("/v1/surveys/{survey_id}", responses=problem_responses(401, 403, 404, 412, 422, 428))
async def update_survey(survey_id: uuid.UUID, data: SurveyUpdate, repo: WriteRepo, response: Response,
                        if_match: Annotated[str | None, Header()] = None) -> SurveyRead:
    """Edit the draft (If-Match); published versions stay as they were."""
    survey = await surveys.update_survey(repo, survey_id, data, if_match)
    response.headers["ETag"] = etag_for(survey.version)
    return surveys.to_read(survey)


@router.post("/v1/surveys/{survey_id}/publish", responses=problem_responses(401, 403, 404, 422))
async def publish_survey(survey_id: uuid.UUID, repo: WriteRepo) -> SurveyVersionRead:
    """Freeze the draft as the next version (unchanged drafts keep the current version)."""
    survey, version = await surveys.publish(repo, survey_id)
    return surveys.version_read(survey, version)


@router.get("/v1/surveys/{survey_id}/versions/{number}", responses=problem_responses(401, 403, 404))
async def get_version(survey_id: uuid.UUID, number: Annotated[int, Path(ge=1, le=2**31 - 1)], repo: ReadRepo) -> SurveyVersionRead:
    """One published version, exactly as customers answered it."""
    survey, version = await surveys.get_version(repo, survey_id, number)
    return surveys.version_read(survey, version)
