"""FastAPI dependencies of the survey API: a repository scoped to the caller, settings, org directory."""

from typing import Annotated

from fastapi import Depends, Request

from services.survey.customer_source import CustomerSource
from services.survey.repository import SurveyRepository, TokenRepository
from services.survey.settings import SurveySettings
from shared.auth import scoped
from shared.db import SessionStatements
from shared.orgs import OrgDirectory
from shared.service_app import SessionDep


async def _reader(session: SessionDep, principal: scoped("surveys:read")) -> SurveyRepository:
    return SurveyRepository(session, principal)


async def _writer(session: SessionDep, principal: scoped("surveys:write")) -> SurveyRepository:
    return SurveyRepository(session, principal)


async def _public(session: SessionDep, request: Request) -> TokenRepository:
    return TokenRepository(SessionStatements(session), request.app.state.pinned_versions)


async def _settings(request: Request) -> SurveySettings:
    return request.app.state.settings


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.directory


async def _customers(request: Request) -> CustomerSource:
    return request.app.state.customers


ReadRepo = Annotated[SurveyRepository, Depends(_reader)]
WriteRepo = Annotated[SurveyRepository, Depends(_writer)]
PublicRepo = Annotated[TokenRepository, Depends(_public)]
SettingsDep = Annotated[SurveySettings, Depends(_settings)]
DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
CustomersDep = Annotated[CustomerSource, Depends(_customers)]
