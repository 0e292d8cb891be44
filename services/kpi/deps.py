"""FastAPI dependencies of the KPI API: readers scoped to the caller, the target writer, the caller's subtree of orgs,
the improvement plans' repositories and the services a new plan asks."""

from typing import Annotated

from fastapi import Depends, Query, Request

from services.kpi.orgs import CallerSubtrees
from services.kpi.plan_sources import PlanSources
from services.kpi.repository import KpiRepository
from services.kpi.reports import Reports, org_for
from services.kpi.repository_facts import FactStore
from services.kpi.repository_plans import PlanRepository
from services.kpi.settings import KpiSettings
from shared.auth import scoped
from shared.orgs import OrgInfo
from shared.problems import Forbidden
from shared.service_app import SessionDep, repository_for


async def _subtrees(request: Request) -> CallerSubtrees:
    return request.app.state.subtrees


async def _settings(request: Request) -> KpiSettings:
    return request.app.state.settings


SubtreesDep = Annotated[CallerSubtrees, Depends(_subtrees)]
SettingsDep = Annotated[KpiSettings, Depends(_settings)]
Reader = scoped("kpi:read")
# Targets steer rankings and rebates: they are set with kpi:write, not by every KPI reader, and only
# from above the target's org (reports.check_sets_target_from_above).
TargetSetter = scoped("kpi:write")


# The one dependency that opens the transaction: the caller's token and scope checked first.
ReadRepo = Annotated[KpiRepository, repository_for(KpiRepository, "kpi:read")]


async def _reports(repo: ReadRepo, subtrees: SubtreesDep) -> Reports:
    return Reports(repo, subtrees)


async def _store(session: SessionDep) -> FactStore:
    return FactStore(session)


ReportsDep = Annotated[Reports, Depends(_reports)]
OrgCodeQuery = Annotated[str | None, Query(max_length=40, description="Default: the caller's org")]


async def _asked_org(principal: Reader, subtrees: SubtreesDep, org_code: OrgCodeQuery = None) -> OrgInfo:
    return await org_for(subtrees, principal, org_code)


async def _reviewed_org(principal: Reader, subtrees: SubtreesDep, org_code: OrgCodeQuery = None) -> OrgInfo:
    """Checked before the org is looked up: a dealer learns nothing of any org_code from this answer."""
    if principal.org_kind == "dealer":
        raise Forbidden("Held-out repeat visits are reviewed by the manufacturer and the distributors")
    return await org_for(subtrees, principal, org_code)


# The org a KPI read is about: the caller's own, or one in its subtree (else 404).
AskedOrg = Annotated[OrgInfo, Depends(_asked_org)]
# The same, for reviews above the dealers (a dealer: 403).
ReviewedOrg = Annotated[OrgInfo, Depends(_reviewed_org)]
StoreDep = Annotated[FactStore, Depends(_store)]


async def _plan_sources(request: Request) -> PlanSources:
    return request.app.state.plan_sources


# Improvement plans: read with kpi:read, opened, moved and ticked off with kpi:write.
PlanReader = Annotated[PlanRepository, repository_for(PlanRepository, "kpi:read")]
PlanWriter = Annotated[PlanRepository, repository_for(PlanRepository, "kpi:write")]
PlanSourcesDep = Annotated[PlanSources, Depends(_plan_sources)]
