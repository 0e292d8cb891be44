"""HTTP layer for stored survey responses: list, read, CSV export, third-party import."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.exc import IntegrityError

from services.survey import export, imports, responses, surveys
from services.survey.definition import Kind
from services.survey.deps import CustomersDep, DirectoryDep, ReadRepo, SettingsDep, WriteRepo
from services.survey.models import SurveyResponse
from services.survey.repository import ResponseFilter, SurveyRepository
from services.survey.schemas import ResponseImport, ResponseImportResult, ResponseRead
from shared.auth import INTERNAL_HEADER
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import Conflict, problem_responses

router = APIRouter(tags=["survey responses"])


async def response_filter(
    survey_id: uuid.UUID | None = None, dealer_code: str | None = None, customer_id: uuid.UUID | None = None,
    kind: Kind | None = None,
    # With an offset: a naive time names no instant (and the database refused to compare it: a 500).
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: Annotated[AwareDatetime | None, Query()] = None,
) -> ResponseFilter:
    return ResponseFilter(survey_id=survey_id, dealer_code=dealer_code, customer_id=customer_id, kind=kind,
                          submitted_from=from_, submitted_to=to)


FilterDep = Annotated[ResponseFilter, Depends(response_filter)]


@router.get("/v1/survey-responses", responses=problem_responses(400, 401, 403, 422))
async def list_responses(repo: ReadRepo, where: FilterDep, page: Annotated[PageParams, Depends(page_params)],
                         updated_since: UpdatedSince) -> Page[ResponseRead]:
    """Responses in your organisation's subtree, oldest first; `from` inclusive, `to` exclusive (both on
    the submission time). With `updated_since`, the responses changed since, oldest change first."""
    # The list's own parameter, not the filter's: the CSV export stays a report by submission time.
    where = dataclasses.replace(where, updated_since=updated_since)
    rows, cursor = await responses.list_responses(repo, where, page)
    return Page(items=[responses.to_read(row, repo.principal) for row in rows], next_cursor=cursor)


@router.get("/v1/survey-responses/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 404)})
async def export_responses(request: Request, where: FilterDep, settings: SettingsDep,
                           repo: ReadRepo) -> StreamingResponse:
    """CSV of the responses; with `survey_id`, a column per factor and per question of its newest version."""
    definition = await surveys.newest_definition(repo, where.survey_id) if where.survey_id else None
    principal = repo.principal

    async def body() -> AsyncIterator[str]:
        # The request's own session is closed once this function returns, before the body
        # streams, so the export reads through a session of its own.
        async with request.app.state.sessions(info={"org_path": principal.org_path}) as session:
            rows = SurveyRepository(session, principal).all_responses(where, settings.export_page_rows)
            async for chunk in export.stream(rows, definition):
                yield chunk

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="survey-responses.csv"'})


@router.post("/v1/survey-responses/import", responses=problem_responses(401, 403, 404, 409, 422))
async def import_responses(data: ResponseImport, repo: WriteRepo, directory: DirectoryDep, customers: CustomersDep,
                           request: Request) -> ResponseImportResult:
    """Results of a CSI/SSI study run by a third party, scored like public submissions and kept with
    their own `submitted_at`; idempotent by (survey_id, external_id); bad rows in `errors` (row 1 = first).
    A row's optional `staff` names who served the customer: staff codes of the row's dealer."""
    try:
        # The caller's own token goes to the customer service, so its scope rules judge the staff codes.
        outcome = await imports.import_responses(repo, directory, customers, request.headers[INTERNAL_HEADER], data)
    except IntegrityError as exc:
        raise Conflict("Another import of the same responses ran at the same time; send them again") from exc
    return ResponseImportResult.model_validate(outcome, from_attributes=True)


@router.get("/v1/survey-responses/{response_id}", responses=problem_responses(401, 403, 404))
async def get_response(response_id: uuid.UUID, repo: ReadRepo) -> ResponseRead:
    """One response with its answers, scores (one decimal) and alert reasons."""
    return responses.to_read(await repo.get_visible(SurveyResponse, response_id), repo.principal)
