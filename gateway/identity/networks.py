"""A dealer's own networks (issue 17, `dealer_network`): set from above, never by the dealer.

The flag exists because a dealer may answer its own customers' surveys from the showroom, so
the dealer must not be able to change (empty) the list that catches it: only an org above it
(its distributor or the manufacturer, with `orgs:admin`) sets it.
"""

from gateway.identity.orgs import visible_org
from gateway.models import Org, OrgNetwork
from gateway.repository import OrgNetworkRepository, OrgRepository
from gateway.schemas import OrgNetworksRead
from shared.problems import Forbidden, UnprocessableContent


async def read_networks(orgs: OrgRepository, networks: OrgNetworkRepository, code: str) -> OrgNetworksRead:
    org = await visible_org(orgs, code)
    return _read(org, await networks.get(org.code))


async def set_networks(orgs: OrgRepository, networks: OrgNetworkRepository, code: str, cidrs: list[str]) -> OrgNetworksRead:
    caller = networks.principal
    org = await visible_org(orgs, code)
    if org.org_path == caller.org_path:
        raise Forbidden("An organisation's networks are set by an organisation above it")
    if org.kind != "dealer":
        raise UnprocessableContent("Networks are a dealer's", errors=[{"field": "code", "message": f"'{org.code}' is a {org.kind}"}])
    row = await networks.put(org, list(dict.fromkeys(cidrs)), caller.subject)
    return _read(org, row)


def _read(org: Org, row: OrgNetwork | None) -> OrgNetworksRead:
    if row is None:
        return OrgNetworksRead(org_code=org.code, cidrs=[], updated_by=None, updated_at=None)
    return OrgNetworksRead(org_code=org.code, cidrs=row.cidrs, updated_by=row.updated_by, updated_at=row.updated_at)
