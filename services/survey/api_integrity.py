"""HTTP layer of survey integrity: reviews, the organisations' rules, the per-dealer record, the
review team's export of flagged responses, and the gateway's look-up of a link's dealer."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from services.survey import export, responses, review
from services.survey.deps import DirectoryDep, PublicRepo, ReadRepo, SettingsDep, WriteRepo
from services.survey.repository import SurveyRepository
from services.survey.schemas import (IntegrityReport, IntegrityRulesIn, IntegrityRulesRead, LinkDealer, ResponseRead,
                                     ResponseReview)
from shared.auth import scoped
from shared.problems import problem_responses

router = APIRouter(tags=["survey integrity"])
internal = APIRouter(include_in_schema=False)
OrgCode = Annotated[str, Query(min_length=1, max_length=40)]
Period = Annotated[str, Query(max_length=7, description="A month, YYYY-MM")]


@router.post("/v1/survey-responses/{response_id}/review", responses=problem_responses(401, 403, 404, 422))
async def review_response(response_id: uuid.UUID, data: ResponseReview, repo: WriteRepo) -> ResponseRead:
    """`valid` moves a flagged response into the KPIs, `invalid` keeps it out: by the manufacturer or a
    distributor above its dealer (the dealer itself: 403); publishes survey.response.reviewed."""
    return responses.to_read(await review.review(repo, response_id, data), repo.principal)


@router.get("/v1/survey-integrity/rules", responses=problem_responses(401, 403, 404, 422))
async def get_rules(org_code: OrgCode, repo: ReadRepo, directory: DirectoryDep,
                    settings: SettingsDep) -> IntegrityRulesRead:
    """The rules in force in an organisation: the nearest organisation's at or above it, else the defaults."""
    review.check_sets_rules(repo.principal)
    org = await directory.org_in_subtree(repo.principal, org_code)
    return await review.rules_read(repo, org, settings)


@router.put("/v1/survey-integrity/rules", responses=problem_responses(401, 403, 422))
async def put_rules(data: IntegrityRulesIn, repo: WriteRepo, directory: DirectoryDep,
                    settings: SettingsDep) -> IntegrityRulesRead:
    """Switch and tune each flag for an organisation's subtree (manufacturer or distributor); a flag
    left out keeps its defaults. Rules set nearer a dealer win over these."""
    review.check_sets_rules(repo.principal)
    org = await directory.org_in_subtree(repo.principal, data.org_code, in_body=True)
    await review.set_rules(repo, org, data)
    return await review.rules_read(repo, org, settings)


@router.get("/v1/survey-integrity", responses=problem_responses(401, 403, 404, 422))
async def get_report(org_code: OrgCode, period: Period, repo: ReadRepo, directory: DirectoryDep) -> IntegrityReport:
    """Per dealer of the organisation's subtree, for a month: responses, flagged (not yet reviewed),
    reviewed invalid and valid, and how many raised each flag."""
    review.check_sets_rules(repo.principal)
    org = await directory.org_in_subtree(repo.principal, org_code)
    return await review.report(repo, org, period)


@router.get("/v1/survey-integrity/flagged.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 404, 422)})
async def export_flagged(request: Request, org_code: OrgCode, period: Period, repo: ReadRepo,
                         directory: DirectoryDep) -> StreamingResponse:
    """CSV of the flagged responses not yet reviewed, for the review team: the response export's
    columns with the flags and the answer time."""
    review.check_sets_rules(repo.principal)
    org = await directory.org_in_subtree(repo.principal, org_code)
    start, end = review.period_bounds(period)
    principal = repo.principal

    async def body() -> AsyncIterator[str]:
        # The request's session closes before the body streams: the export reads through its own.
        async with request.app.state.sessions(info={"org_path": principal.org_path}) as session:
            rows = await SurveyRepository(session, principal).flagged_responses(org.path, start, end)
            yield export.flagged(rows)

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="flagged-responses.csv"'})


@internal.get("/internal/invitations/by-token/{token}/dealer")
async def link_dealer(token: str, repo: PublicRepo, _: scoped("internal")) -> LinkDealer:
    """The dealer a survey link belongs to, for the gateway's dealer_network check (404: no such link)."""
    return await responses.link_dealer(repo, token)
