"""The org directory a service keeps (shared/orgs.py) under replicas (deploy/CACHES.md): orgs
never change once created, so a cached org is never stale; what could be stale is a "no such
org" remembered by one replica after another created it, so a miss is never remembered."""

import httpx

from shared.orgs import OrgDirectory
from shared.settings import DEVELOPMENT_SECRET

ORG = {"code": "DLR-NEW", "name": "New dealer", "kind": "dealer", "path": "/M/D1/DLR-NEW/", "parent_code": "D1"}


async def test_an_org_created_after_a_miss_is_found_at_once() -> None:
    created = False
    asked: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json=ORG) if created else httpx.Response(404)

    directory = OrgDirectory("http://gateway.test", DEVELOPMENT_SECRET, transport=httpx.MockTransport(gateway))
    try:
        assert await directory.get("DLR-NEW") is None
        created = True  # through the gateway, by a call another replica served
        found = await directory.get("DLR-NEW")
        assert found is not None and found.path == ORG["path"]
        assert await directory.get("DLR-NEW") == found
        assert len(asked) == 2  # the miss asked again; the org, once found, is kept
    finally:
        await directory.close()
