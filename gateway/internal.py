"""`/internal/...`: what services ask the gateway, with an internal token; not in the public OpenAPI."""

from fastapi import APIRouter, Request

from gateway.deps import SessionDep
from gateway.orgs import visible_org
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


@router.get("/orgs/{code}")
async def internal_org(code: str, request: Request, session: SessionDep) -> OrgInfo:
    _require_internal(request)
    org = await visible_org(OrgRepository(session, system_principal()), code)
    return OrgInfo(code=org.code, name=org.name, kind=org.kind, path=org.org_path,
                   parent_code=org.parent_code, region=org.region)
