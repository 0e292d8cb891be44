"""`/internal/...`: what services ask the gateway, with an internal token; not in the public OpenAPI."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.deps import SessionDep
from gateway.identity.orgs import visible_org
from gateway.models import Org
from gateway.repository import OrgRepository
from shared.auth import INTERNAL_HEADER, system_principal
from shared.orgs import OrgInfo
from shared.problems import Forbidden, Unauthorized

router = APIRouter(prefix="/internal", include_in_schema=False)


def _require_internal(request: Request) -> None:
    token = request.headers.get(INTERNAL_HEADER)
    if not token:
        raise Unauthorized("An internal token is required")
    principal = request.app.state.token_verifier.verify(token)
    if "internal" not in principal.scopes:
        raise Forbidden("Only services may call /internal")


# A national network has hundreds of dealers, not hundreds of thousands: one answer holds a subtree.
SUBTREE_LIMIT = 10_000


@router.get("/orgs/{code}")
async def internal_org(code: str, request: Request, session: SessionDep) -> OrgInfo:
    _require_internal(request)
    return _info(await visible_org(OrgRepository(session, system_principal()), code))


@router.get("/orgs")
async def internal_subtree(under: Annotated[str, Query(min_length=1, max_length=500)], request: Request,
                           session: SessionDep) -> list[OrgInfo]:
    """Every org whose path starts with `under` (e.g. the names for a ranking of 500 dealers, in one call)."""
    _require_internal(request)
    return [_info(org) for org in await OrgRepository(session, system_principal()).subtree(under, SUBTREE_LIMIT)]


def _info(org: Org) -> OrgInfo:
    return OrgInfo(code=org.code, name=org.name, kind=org.kind, path=org.org_path,
                   parent_code=org.parent_code, region=org.region)
