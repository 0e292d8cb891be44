"""Dependencies the endpoints share: a repository scoped to the caller, the org directory, settings."""

from typing import Annotated

from fastapi import Depends, Request

from services.customer.domain import FollowUpPolicy
from services.customer.repository import CustomerRepository
from services.customer.settings import CustomerSettings
from shared.orgs import OrgDirectory
from shared.service_app import repository_for


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.org_directory


async def _settings(request: Request) -> CustomerSettings:
    return request.app.state.settings


async def _policy(request: Request) -> FollowUpPolicy:
    return request.app.state.followup_policy


ReadRepo = Annotated[CustomerRepository, repository_for(CustomerRepository, "customers:read")]
WriteRepo = Annotated[CustomerRepository, repository_for(CustomerRepository, "customers:write")]
DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
SettingsDep = Annotated[CustomerSettings, Depends(_settings)]
PolicyDep = Annotated[FollowUpPolicy, Depends(_policy)]
