"""Finding 17: the gateway's `/metrics` was open to anyone, and `/docs` pulled a script from
a CDN without integrity. Metrics need the scrape token; the docs page loads only the
gateway's own files (Swagger UI installed from the npm registry into ui/node_modules)."""

import re

import httpx
import pytest

from gateway.settings import GatewaySettings
from tests.gateway.conftest import bearer, running_gateway
from tests.security.gateway_support import base_settings, gateway, security_database_url  # noqa: F401


async def test_metrics_are_not_served_without_a_configured_token(gateway: httpx.AsyncClient) -> None:  # noqa: F811
    response = await gateway.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "# TYPE" not in response.text


async def test_metrics_need_the_scrape_token(base_settings: GatewaySettings) -> None:  # noqa: F811
    async with running_gateway(base_settings.model_copy(update={"metrics_token": "s3cret-scrape"})) as client:
        for headers in ({}, bearer("wrong"), bearer("s3cret-scrape-but-longer"), {"Authorization": "s3cret-scrape"}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert "# TYPE" not in refused.text
        scraped = await client.get("/metrics", headers=bearer("s3cret-scrape"))
        assert scraped.status_code == 200 and "# TYPE" in scraped.text


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
async def test_docs_pages_reference_no_other_host(gateway: httpx.AsyncClient, page_path: str) -> None:  # noqa: F811
    page = await gateway.get(page_path)
    assert page.status_code == 200
    html = page.text
    assert "://" not in html, "an absolute URL: the page would load something from another host"
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references


async def test_swagger_ui_online_validator_is_off(gateway: httpx.AsyncClient) -> None:  # noqa: F811
    assert "validatorUrl" in (await gateway.get("/docs")).text  # it would send the document to validator.swagger.io


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
async def test_docs_assets_are_served_locally(gateway: httpx.AsyncClient, page_path: str) -> None:  # noqa: F811
    html = (await gateway.get(page_path)).text
    for ref in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html):
        response = await gateway.get(ref)
        assert response.status_code == 200, f"{ref}: {response.status_code} (run `npm ci --prefix ui`)"
    script = await gateway.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text
    for name in ("..%2F..%2Fpackage.json", "index.html", "swagger-ui-bundle.js.map"):
        assert (await gateway.get(f"/docs/assets/{name}")).status_code == 404
