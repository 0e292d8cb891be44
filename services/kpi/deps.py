"""FastAPI dependencies of the KPI API: readers scoped to the caller, the target writer, the org directory."""

from typing import Annotated

from fastapi import Depends, Request

from services.kpi.repository import KpiRepository
from services.kpi.reports import Reports
from services.kpi.settings import KpiSettings
from services.kpi.store import FactStore
from shared.auth import scoped
from shared.orgs import OrgDirectory
from shared.service_app import SessionDep


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.directory


async def _settings(request: Request) -> KpiSettings:
    return request.app.state.settings


DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
SettingsDep = Annotated[KpiSettings, Depends(_settings)]
Reader = scoped("kpi:read")
# Targets steer rankings and rebates: they are set by org administrators, not by every KPI reader.
TargetSetter = scoped("kpi:write")


async def _reports(session: SessionDep, principal: Reader, directory: DirectoryDep) -> Reports:
    return Reports(KpiRepository(session, principal), directory)


async def _store(session: SessionDep) -> FactStore:
    return FactStore(session)


ReportsDep = Annotated[Reports, Depends(_reports)]
StoreDep = Annotated[FactStore, Depends(_store)]
