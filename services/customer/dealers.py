"""Which org a call is about: the dealer a write acts for (the one it names, checked with the
gateway, or the caller's own), and the org a read is narrowed to (`?org_code=`)."""

from shared.auth import Principal
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import UnprocessableContent


async def dealer_for_write(principal: Principal, directory: OrgDirectory, dealer_code: str | None) -> OrgInfo:
    """A dealer key may omit `dealer_code`; anyone above a dealer must name one."""
    if dealer_code is None:
        if principal.org_kind != "dealer":
            raise UnprocessableContent("Name the dealer this record belongs to",
                                       errors=[{"field": "dealer_code", "message": "required above dealer level"}])
        dealer_code = principal.org_code
    return await directory.dealer_for(principal, dealer_code)
