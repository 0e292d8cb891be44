"""Dependencies the endpoints share: a repository scoped to the caller, the org directory, settings."""

from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import StringConstraints

from services.customer.domain import FollowUpPolicy
from services.customer.repository import CustomerRepository
from services.customer.settings import CustomerSettings
from shared.orgs import OrgDirectory
from shared.service_app import repository_for
from shared.types import OrgCode


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
# The dealer an upsert's path names: outside the caller's subtree it is a 404, like an unknown path.
DealerInPath = Annotated[OrgCode, Path(description="The dealer whose record this is")]
# A record's key in a path, as long as its column: printable, so a NUL never reaches the database.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
ExternalIdInPath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_PRINTABLE),
                             Path(description="The customer's id in the dealer's own system")]
RoNumberInPath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_PRINTABLE),
                           Path(description="The repair-order number in the dealer's own system")]
