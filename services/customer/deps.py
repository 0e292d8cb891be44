"""Dependencies the endpoints share: a repository scoped to the caller, the org directory, settings."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import AwareDatetime, StringConstraints

from services.customer.domain import FollowUpPolicy
from services.customer.repository import CustomerRepository
from services.customer.settings import CustomerSettings
from shared.orgs import OrgDirectory
from shared.problems import UnprocessableContent
from shared.service_app import repository_for
from shared.types import OrgCode


async def _directory(request: Request) -> OrgDirectory:
    return request.app.state.org_directory


async def _settings(request: Request) -> CustomerSettings:
    return request.app.state.settings


async def _policy(request: Request) -> FollowUpPolicy:
    return request.app.state.followup_policy


async def _updated_since(updated_since: Annotated[AwareDatetime | None, Query(description=(
    "RFC 3339 time with offset: only records changed at or after it, ordered by (updated_at, id), the delta "
    "feed of a sync. Keep the largest `updated_at` you received and pass it next time (rows at that instant "
    "come again, so none is lost); a change committed while you page shows on the next run."))] = None,
) -> datetime | None:
    if updated_since is None:
        return None
    try:
        return updated_since.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC instant
        raise UnprocessableContent("updated_since is out of range",
                                   errors=[{"field": "updated_since", "message": "out of range"}]) from exc


ReadRepo = Annotated[CustomerRepository, repository_for(CustomerRepository, "customers:read")]
WriteRepo = Annotated[CustomerRepository, repository_for(CustomerRepository, "customers:write")]
DirectoryDep = Annotated[OrgDirectory, Depends(_directory)]
SettingsDep = Annotated[CustomerSettings, Depends(_settings)]
PolicyDep = Annotated[FollowUpPolicy, Depends(_policy)]
UpdatedSince = Annotated[datetime | None, Depends(_updated_since)]
# The dealer an upsert's path names: outside the caller's subtree it is a 404, like an unknown path.
DealerInPath = Annotated[OrgCode, Path(description="The dealer whose record this is")]
# A record's key in a path, as long as its column: printable, so a NUL never reaches the database.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
ExternalIdInPath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_PRINTABLE),
                             Path(description="The customer's id in the dealer's own system")]
RoNumberInPath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_PRINTABLE),
                           Path(description="The repair-order number in the dealer's own system")]
