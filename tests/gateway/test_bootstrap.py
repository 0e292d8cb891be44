"""`bootstrap()`: the first manufacturer and an admin key holding every scope, once."""

import httpx
import pytest

from gateway.identity.bootstrap import BootstrapRefused, bootstrap
from gateway.identity.scopes import ALL_SCOPES
from tests.gateway.conftest import bearer, unique_code


async def test_bootstrap_creates_manufacturer_and_an_all_scopes_key(client: httpx.AsyncClient, database_url: str) -> None:
    code = unique_code("OEM")
    result = await bootstrap(database_url, code.lower(), "Bootstrap Motors")
    assert result["org_code"] == code
    org = (await client.get(f"/v1/orgs/{code}", headers=bearer(result["api_key"]))).json()
    assert (org["kind"], org["path"], org["parent_code"]) == ("manufacturer", f"/{code}/", None)
    grant = await client.post("/v1/api-keys", headers=bearer(result["api_key"]), json={
        "org_code": code, "name": "all", "scopes": sorted(ALL_SCOPES)})
    assert grant.status_code == 201


async def test_bootstrap_twice_is_refused(database_url: str) -> None:
    code = unique_code("OEM")
    await bootstrap(database_url, code, "Once Motors")
    with pytest.raises(BootstrapRefused, match="exists already"):
        await bootstrap(database_url, code, "Twice Motors")


async def test_bootstrap_refuses_an_invalid_code(database_url: str) -> None:
    with pytest.raises(BootstrapRefused):
        await bootstrap(database_url, "no spaces allowed", "Bad")
