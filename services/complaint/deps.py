"""FastAPI dependencies of the complaint API: a repository scoped to the caller, settings, org directory,
the services that hold what a case refers to."""

from typing import Annotated

from fastapi import Depends, Request

from services.complaint.references import ReferenceSources
from services.complaint.repository import ComplaintRepository
from services.complaint.repository_loop import LoopRepository
from services.complaint.settings import ComplaintSettings
from shared.orgs import OrgDirectory
from shared.service_app import repository_for


async def _settings(request: Request) -> ComplaintSettings:
    return request.app.state.settings


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.directory


async def _references(request: Request) -> ReferenceSources:
    return request.app.state.references


ReadRepo = Annotated[ComplaintRepository, repository_for(ComplaintRepository, "complaints:read")]
WriteRepo = Annotated[ComplaintRepository, repository_for(ComplaintRepository, "complaints:write")]
SettingsDep = Annotated[ComplaintSettings, Depends(_settings)]
DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
ReferencesDep = Annotated[ReferenceSources, Depends(_references)]
LoopReadRepo = Annotated[LoopRepository, repository_for(LoopRepository, "complaints:read")]
LoopWriteRepo = Annotated[LoopRepository, repository_for(LoopRepository, "complaints:write")]
