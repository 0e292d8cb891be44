"""`/docs` (Swagger UI) and `/redoc` in a real browser (Debian's chromium driven by Playwright) over
the whole suite, with every request to another host refused: both pages must draw the merged
document's operations of every service from the gateway's own files, with no script error.

Screenshots go to test-artifacts/docs-*.png.
"""

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_dashboard_browser import LAPTOP
from tests.support.suite import Network

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"),
]

# One path of each service's and of the gateway's own routes: the merged document reached the page.
PATHS = ("/v1/customers", "/v1/surveys", "/v1/complaints", "/v1/kpi/summary", "/v1/orgs")
TAGS = ("customers", "surveys", "complaints", "kpi", "organisations")


def offline_page(browser, network: Network) -> tuple[object, object, list[str], list[str]]:  # noqa: ANN001, F811
    """A page whose requests to any host but the gateway are refused and recorded."""
    context = browser.new_context(**LAPTOP)
    page = context.new_page()
    own_host = urlsplit(network.url).netloc
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_gateway(route, request) -> None:  # noqa: ANN001
        if urlsplit(request.url).scheme in ("http", "https") and urlsplit(request.url).netloc != own_host:
            elsewhere.append(request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_the_gateway)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, elsewhere, errors


def test_swagger_ui_draws_every_service_offline(browser, network: Network, artifacts_dir: Path) -> None:  # noqa: ANN001, F811
    context, page, elsewhere, errors = offline_page(browser, network)
    try:
        page.goto(f"{network.url}/docs")
        # Tags start folded (gateway/edge/openapi.py): every tag is drawn, and opening a service's
        # tags draws its operations.
        page.wait_for_selector(".opblock-tag", timeout=30_000)
        assert page.locator(".opblock-tag").count() > 20
        for tag in TAGS:
            page.locator(f'.opblock-tag[data-tag="{tag}"]').click()
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        drawn = set(page.locator(".opblock-summary-path").all_inner_texts())
        assert len(drawn) >= 25, drawn
        for path in PATHS:
            assert any(text.replace("\u200b", "") == path for text in drawn), f"{path} not on /docs"
        page.screenshot(path=artifacts_dir / "docs-swagger.png")
    finally:
        context.close()
    assert not elsewhere, f"/docs asked other hosts: {elsewhere}"
    assert not errors, errors


def test_redoc_draws_every_service_offline(browser, network: Network, artifacts_dir: Path) -> None:  # noqa: ANN001, F811
    context, page, elsewhere, errors = offline_page(browser, network)
    try:
        answer = page.goto(f"{network.url}/redoc")
        # Redoc's sidebar would show Redocly's logo from its CDN: the page's policy refuses it.
        assert "img-src 'self' data:" in answer.headers["content-security-policy"]
        page.wait_for_selector("[role=menuitem]", timeout=60_000)
        assert page.locator("[role=menuitem]").count() > 50
        text = page.locator("body").inner_text()
        assert "Something went wrong" not in text
        for path in PATHS:
            assert path in text, f"{path} not on /redoc"
        page.screenshot(path=artifacts_dir / "docs-redoc.png")
    finally:
        context.close()
    assert not elsewhere, f"/redoc asked other hosts: {elsewhere}"
    assert not errors, errors
