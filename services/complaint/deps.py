"""FastAPI dependencies of the complaint API: a repository scoped to the caller, settings, org directory,
the services that hold what a case refers to."""

from typing import Annotated

from fastapi import Depends, Request

from services.complaint.references import ReferenceSources
from services.complaint.repository import ComplaintRepository
from services.complaint.settings import ComplaintSettings
from shared.auth import scoped
from shared.orgs import OrgDirectory
from shared.service_app import SessionDep


async def _reader(session: SessionDep, principal: scoped("complaints:read")) -> ComplaintRepository:
    return ComplaintRepository(session, principal)


async def _writer(session: SessionDep, principal: scoped("complaints:write")) -> ComplaintRepository:
    return ComplaintRepository(session, principal)


async def _settings(request: Request) -> ComplaintSettings:
    return request.app.state.settings


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.directory


async def _references(request: Request) -> ReferenceSources:
    return request.app.state.references


ReadRepo = Annotated[ComplaintRepository, Depends(_reader)]
WriteRepo = Annotated[ComplaintRepository, Depends(_writer)]
SettingsDep = Annotated[ComplaintSettings, Depends(_settings)]
DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
ReferencesDep = Annotated[ReferenceSources, Depends(_references)]
