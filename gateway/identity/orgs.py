"""Organisation rules: how kinds nest, and that a caller only grows its own subtree."""

from gateway.models import Org
from gateway.repository import OrgRepository
from gateway.schemas import OrgCreate
from shared.auth import Principal
from shared.org_path import OrgPath
from shared.problems import Conflict, UnprocessableContent

# A dealer may hang directly under a manufacturer (factory-owned outlets, small markets).
ALLOWED_PARENTS: dict[str, frozenset[str]] = {
    "distributor": frozenset({"manufacturer"}),
    "dealer": frozenset({"distributor", "manufacturer"}),
}


async def create_org(repo: OrgRepository, data: OrgCreate) -> Org:
    if data.kind == "manufacturer":
        raise UnprocessableContent(
            "A manufacturer is the root of its tree; it is created by `csloop admin bootstrap`",
            errors=[{"field": "kind", "message": "manufacturer cannot be created here"}],
        )
    parent = await named_org(repo, data.parent_code, "parent_code")
    if parent.kind not in ALLOWED_PARENTS[data.kind]:
        raise UnprocessableContent(
            f"A {data.kind} cannot be placed under a {parent.kind}",
            errors=[{"field": "parent_code", "message": f"a {data.kind} belongs under a {' or '.join(sorted(ALLOWED_PARENTS[data.kind]))}"}],
        )
    if await repo.code_taken(data.code):
        raise Conflict(f"The org code '{data.code}' is taken", errors=[{"field": "code", "message": "already exists"}])
    return await repo.add(Org(
        code=data.code, name=data.name, kind=data.kind, parent_code=parent.code,
        region=data.region, org_path=OrgPath(parent.org_path).child(data.code),
    ))


async def visible_org(repo: OrgRepository, code: str) -> Org:
    """The org, if it lies in the caller's subtree; any other org is answered as missing."""
    return await repo.get_visible(Org, code.strip().upper(), key=Org.code,
                                  missing=f"No organisation '{code}' in your subtree")


async def named_org(repo: OrgRepository, code: str, field: str = "org_code") -> Org:
    """The org a body field names, if it lies in the caller's subtree; else 422 "unknown
    organisation" (API.md: a foreign reference in a body is answered the same as an unknown one)."""
    org = await repo.get(code.strip().upper())
    if org is None:
        raise UnprocessableContent("The organisation is not one of yours", errors=[{"field": field, "message": "unknown organisation"}])
    return org


def principal_of_org(org: Org, subject: str, roles: tuple[str, ...], scopes: frozenset[str]) -> Principal:
    return Principal(subject=subject, org_code=org.code, org_path=org.org_path, org_kind=org.kind,
                     roles=roles, scopes=scopes)
