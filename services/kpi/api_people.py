"""People scorecards and department figures (/v1/kpi/people, /v1/kpi/departments): KPI.md, People KPIs."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.kpi.api_reports import ASKED_ORG_PROBLEMS, PeriodQuery
from services.kpi.deps import AskedOrg, ReadRepo, SettingsDep
from services.kpi.people import PeopleReports
from services.kpi.reports import parse_period
from services.kpi.schemas import KpiDepartments, KpiPeople, PeopleKpi, PeopleRole

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


async def _people(repo: ReadRepo) -> PeopleReports:
    return PeopleReports(repo)


PeopleDep = Annotated[PeopleReports, Depends(_people)]
PeopleKpiQuery = Annotated[PeopleKpi, Query(description="The KPI: the survey, first-time-fix and follow-up KPIs")]


@router.get("/people", responses=ASKED_ORG_PROBLEMS)
async def people(org: AskedOrg, reports: PeopleDep, settings: SettingsDep, kpi: PeopleKpiQuery, period: PeriodQuery,
                 role: PeopleRole | None = None) -> KpiPeople:
    """One KPI per staff member of the org's dealers and the role the records are attributed under,
    with its 95% interval, ranked among the same role by the interval's pessimistic end; a person
    with fewer records than the minimum (setting `people_min_n`, 10) is listed with `rank: null`."""
    return await reports.people(kpi, role, org, parse_period(period), settings.people_min_n)


@router.get("/departments", responses=ASKED_ORG_PROBLEMS)
async def departments(org: AskedOrg, reports: PeopleDep, kpi: PeopleKpiQuery, period: PeriodQuery) -> KpiDepartments:
    """One KPI per dealer and department (service: advisors' and technicians' records; sales: sales
    consultants'; cr: assigned follow-ups), each record once, with its 95% interval."""
    return await reports.departments(kpi, org, parse_period(period))
