"""The KPI API (/v1/kpi): parse, authorise, call one report, return. Figures in KPI.md."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.kpi.deps import (AskedOrg, ReadRepo, ReportsDep, ReviewedOrg, SettingsDep, StoreDep, SubtreesDep,
                               TargetSetter)
from services.kpi.fir_causes import fir_causes as fir_causes_of
from services.kpi.reports import check_kpi, org_for, parse_period, set_target
from services.kpi.schemas import (ComplaintCounts, FirCauses, FirHeldOut, KpiDrivers, KpiRankings, KpiSummary, KpiTarget,
                                  KpiTrend, Level, SurveyKind, TargetPut)
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])
PeriodQuery = Annotated[str, Query(max_length=7, description="YYYY-MM, YYYY-Qn or YYYY")]
# `org_code` names no org in the caller's subtree.
ASKED_ORG_PROBLEMS = problem_responses(404)


@router.get("/summary", responses=ASKED_ORG_PROBLEMS)
async def summary(org: AskedOrg, reports: ReportsDep, period: PeriodQuery) -> KpiSummary:
    """Every KPI of an org's subtree for a period, with its target and whether it is met."""
    return await reports.summary(org, parse_period(period))


@router.get("/rankings", responses=ASKED_ORG_PROBLEMS)
async def rankings(org: AskedOrg, reports: ReportsDep, kpi: str, period: PeriodQuery,
                   level: Level = "dealer") -> KpiRankings:
    """Dealers or distributors under an org, ranked by the pessimistic end of their 95% interval."""
    return await reports.rankings(check_kpi(kpi), level, org, parse_period(period))


@router.get("/trends", responses=ASKED_ORG_PROBLEMS)
async def trends(org: AskedOrg, reports: ReportsDep, kpi: str, from_: Annotated[str, Query(alias="from", max_length=7)],
                 to: Annotated[str, Query(max_length=7)]) -> KpiTrend:
    """Monthly points of one KPI from the first month of `from` to the last of `to`."""
    return await reports.trends(check_kpi(kpi), org, parse_period(from_, "from"), parse_period(to, "to"))


@router.get("/drivers", responses=ASKED_ORG_PROBLEMS)
async def drivers(org: AskedOrg, reports: ReportsDep, settings: SettingsDep, kind: SurveyKind,
                  period: PeriodQuery) -> KpiDrivers:
    """Key-driver analysis: factor performance, importance (Pearson r with the index), quadrant."""
    return await reports.drivers(kind, org, parse_period(period), settings.drivers_min_responses)


@router.get("/complaints", responses=ASKED_ORG_PROBLEMS)
async def complaints(org: AskedOrg, reports: ReportsDep, period: PeriodQuery) -> ComplaintCounts:
    """Complaints opened in the period: how many, still open, breached an SLA, per category."""
    return await reports.complaints(org, parse_period(period))


@router.get("/fir-held-out", responses=problem_responses(401, 403, 404, 422))
async def fir_held_out(org: ReviewedOrg, reports: ReportsDep, period: PeriodQuery) -> FirHeldOut:
    """Repeat visits recorded under the org in the period for a customer who is not the VIN's owner on
    record: they do not fail other dealers' first-time fix, and are listed here for review
    (manufacturer and distributors; a dealer gets 403)."""
    return await reports.fir_held_out(org, parse_period(period))


@router.get("/fir-causes", responses=ASKED_ORG_PROBLEMS)
async def fir_causes(org: AskedOrg, repo: ReadRepo, period: PeriodQuery) -> FirCauses:
    """Why first fixes failed: the FIR failures of the org's fixes in the period by the cause the
    repeat visit recorded (`repeat_cause`; `unknown` when it recorded none)."""
    return await fir_causes_of(repo, org, parse_period(period))


@router.put("/targets", responses=problem_responses(401, 403, 404, 422))
async def put_target(body: TargetPut, store: StoreDep, principal: TargetSetter, subtrees: SubtreesDep) -> KpiTarget:
    """Set an org's target for one KPI and period (scope kpi:write), from an org above it (the root
    manufacturer also sets its own)."""
    org = await org_for(subtrees, principal, body.org_code, in_body=True)
    return await set_target(store, principal, org, check_kpi(body.kpi), parse_period(body.period), body.target)
