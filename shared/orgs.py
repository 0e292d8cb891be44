"""What a service knows of the organisation tree: the gateway's answer, cached briefly.

The gateway owns organisations. A service that is told `dealer_code` asks the gateway once
for that org's path and kind, then remembers it for a minute.
"""

import re
import time

from urllib.parse import quote

import httpx
from pydantic import BaseModel

from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.problems import NotFound, ServiceUnavailable, UnprocessableContent
from shared.replicas import replica_client
from shared.types import ORG_CODE_PATTERN

ORG_CODE = re.compile(ORG_CODE_PATTERN)
CACHE_SECONDS = 60.0


class OrgInfo(BaseModel):
    code: str
    name: str
    kind: str
    path: str
    parent_code: str | None = None
    region: str | None = None


class OrgDirectory:
    def __init__(self, gateway_url: str, secret: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = replica_client(gateway_url, timeout=httpx.Timeout(3.0, connect=1.0), transport=transport)
        self._secret = secret
        self._cache: dict[str, tuple[float, OrgInfo]] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, code: str) -> OrgInfo | None:
        if not ORG_CODE.match(code.strip().upper()):
            return None  # no org has such a code ("", "x/y", control characters: all caller input)
        cached = self._cache.get(code)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        token = mint_internal_token(system_principal(), self._secret, ttl_seconds=60)
        try:
            # Quoted: a code is caller input and may hold "/", "?" or control characters.
            response = await self._client.get(f"/internal/orgs/{quote(code, safe='')}", headers={INTERNAL_HEADER: token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("The organisation directory (gateway) cannot be reached") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ServiceUnavailable(f"The organisation directory answered {response.status_code}")
        org = OrgInfo.model_validate(response.json())
        self._cache[code] = (time.monotonic() + CACHE_SECONDS, org)
        return org

    async def subtree(self, path: str) -> list[OrgInfo]:
        """Every org at or below `path`, in one call (and each remembered like a single lookup)."""
        token = mint_internal_token(system_principal(), self._secret, ttl_seconds=60)
        try:
            response = await self._client.get("/internal/orgs", params={"under": path}, headers={INTERNAL_HEADER: token})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("The organisation directory (gateway) cannot be reached") from exc
        if response.status_code != 200:
            raise ServiceUnavailable(f"The organisation directory answered {response.status_code}")
        orgs = [OrgInfo.model_validate(item) for item in response.json()]
        expires = time.monotonic() + CACHE_SECONDS
        self._cache.update({org.code: (expires, org) for org in orgs})
        return orgs

    async def org_in_subtree(self, principal: Principal, org_code: str, *, in_body: bool = False) -> OrgInfo:
        """The org a call names (`?org_code=`, or a body's `org_code`), in the caller's subtree. One
        outside it is answered word for word as an unknown one, so the answer tells nothing about
        other lines: a 404 for a query parameter (like an unknown path), a 422 for a body field."""
        org = await self.get(org_code)
        if org is None or not principal.sees(org.path):
            refusal = UnprocessableContent if in_body else NotFound
            raise refusal("No such organisation in yours", errors=[{"field": "org_code", "message": "unknown organisation"}])
        return org

    async def dealer_for(self, principal: Principal, dealer_code: str, *, field: str = "dealer_code",
                         in_query: bool = False) -> OrgInfo:
        """The dealer a write names, if the caller may act for it.

        An org outside the caller's subtree is answered exactly like one that does not exist:
        for a body field, API.md's 422 `unknown dealer`; for a query parameter (`in_query`),
        which picks the collection the call works on, a 404 like an unknown path.
        """
        org = await self.get(dealer_code)
        if org is None or not principal.sees(org.path):
            unknown = NotFound if in_query else UnprocessableContent
            raise unknown(f"No dealer '{dealer_code}' in your organisation", errors=[{"field": field, "message": "unknown dealer"}])
        if org.kind != "dealer":
            raise UnprocessableContent(f"'{dealer_code}' is a {org.kind}, not a dealer", errors=[{"field": field, "message": "not a dealer"}])
        return org
