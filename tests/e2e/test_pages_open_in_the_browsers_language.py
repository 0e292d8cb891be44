"""The survey page and the dashboard open in the browser's language (Accept-Language), zh-CN for
anything else; the `lang` of a link or of the switch still wins."""

import re

import httpx
import pytest

from tests.e2e.test_survey_page import invite, page_client, published_survey
from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def html_lang(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text[:300]
    assert "Accept-Language" in page.headers.get("vary", "")
    found = re.search(r'<html lang="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


def test_the_survey_page_follows_the_browser(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    survey_id = published_survey(dealer, {"template": "nps"})
    token = invite(dealer, survey_id)["token"]
    with page_client(network) as browser:
        assert html_lang(browser.get(f"/s/{token}", headers={"Accept-Language": "en-US,en;q=0.9"})) == "en"
        assert html_lang(browser.get(f"/s/{token}", headers={"Accept-Language": "de-DE"})) == "zh-CN"
        assert html_lang(browser.get(f"/s/{token}")) == "zh-CN"
        assert html_lang(browser.get(f"/s/{token}?lang=zh-CN", headers={"Accept-Language": "en"})) == "zh-CN"


def test_the_dashboard_follows_the_browser(network: Network) -> None:
    with page_client(network) as browser:
        assert html_lang(browser.get("/ui", headers={"Accept-Language": "en-GB,en;q=0.8"})) == "en"
        assert html_lang(browser.get("/ui", headers={"Accept-Language": "fr"})) == "zh-CN"
        assert html_lang(browser.get("/ui?lang=zh-CN", headers={"Accept-Language": "en"})) == "zh-CN"
