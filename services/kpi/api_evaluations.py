"""Dealer evaluation API: schemes (manufacturer only to write), evaluations, publishing (KPI.md)."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from services.kpi import evaluations
from services.kpi.api_reports import PeriodQuery
from services.kpi.deps import AskedOrg, SubtreesDep
from services.kpi.reports import org_for, parse_period
from services.kpi.repository_evaluations import EvaluationRepository
from services.kpi.schemas import DealerEvaluation, EvaluationSchemePut, EvaluationSchemeRead, EvaluationSchemes, Level
from shared.etag import etag_for
from shared.problems import problem_responses
from shared.service_app import repository_for

router = APIRouter(tags=["evaluations"])
ReadRepo = Annotated[EvaluationRepository, repository_for(EvaluationRepository, "kpi:read")]
# Schemes and publishing decide rebates: kpi:write, and the manufacturer (evaluations.check_manufacturer).
WriteRepo = Annotated[EvaluationRepository, repository_for(EvaluationRepository, "kpi:write")]
CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", description="The scheme's code")]
PeriodPath = Annotated[str, Path(max_length=7, description="YYYY-MM, YYYY-Qn or YYYY")]
SchemeQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", description="The scheme's code")]


@router.get("/v1/evaluation-schemes", responses=problem_responses(401, 403))
async def list_schemes(repo: ReadRepo) -> EvaluationSchemes:
    """The newest version of each evaluation scheme: your manufacturer's (or, for it, its own)."""
    return EvaluationSchemes(items=[evaluations.scheme_read(row) for row in await repo.latest_schemes()])


@router.get("/v1/evaluation-schemes/{code}", responses=problem_responses(401, 403, 404, 422))
async def get_scheme(code: CodePath, repo: ReadRepo, response: Response) -> EvaluationSchemeRead:
    """A scheme's newest version; the ETag names it."""
    row = await evaluations.scheme_of(repo, code)
    response.headers["ETag"] = etag_for(row.version)
    return evaluations.scheme_read(row)


@router.put("/v1/evaluation-schemes/{code}", responses=problem_responses(401, 403, 409, 412, 422))
async def put_scheme(code: CodePath, body: EvaluationSchemePut, repo: WriteRepo, response: Response,
                     if_match: Annotated[str | None, Header()] = None) -> EvaluationSchemeRead:
    """Define a scheme, or its next version (manufacturer only, kpi:write). With If-Match, only over the
    version you read. Published evaluations keep the version they used."""
    row = await evaluations.put_scheme(repo, code, body, if_match)
    response.headers["ETag"] = etag_for(row.version)
    return evaluations.scheme_read(row)


@router.get("/v1/evaluations", responses=problem_responses(401, 403, 404, 422))
async def get_evaluations(scheme: SchemeQuery, period: PeriodQuery, org: AskedOrg, repo: ReadRepo, subtrees: SubtreesDep,
                          level: Level = "dealer") -> DealerEvaluation:
    """The scheme's evaluation of the period for the dealers (or distributors) in `org_code`'s subtree,
    ranked over the scheme's whole network: the frozen figures once published, else the current ones."""
    return await evaluations.evaluate(repo, subtrees, scheme, parse_period(period), level, org)


@router.post("/v1/evaluations/{scheme}/{period}/publish", responses=problem_responses(401, 403, 404, 409, 422))
async def publish(scheme: CodePath, period: PeriodPath, repo: WriteRepo, subtrees: SubtreesDep,
                  level: Level = "dealer") -> DealerEvaluation:
    """Freeze the evaluation of the period (dealers and distributors, every input figure) and announce it
    (`evaluation.published`); answers the frozen evaluation at `level`. Manufacturer only; once per
    scheme and period (then 409)."""
    org = await org_for(subtrees, repo.principal, None)
    return await evaluations.publish(repo, subtrees, scheme, parse_period(period), level, org)
