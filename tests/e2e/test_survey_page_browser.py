"""The survey page in a real browser (Debian's chromium driven by Playwright) on a phone-sized
screen: fill the CSI survey in Chinese and English, see validation in place, a used link.

Screenshots go to test-artifacts/ (survey-zh-CN.png, survey-en.png, survey-thanks.png, ...).
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_survey_page import invite, published_survey
from tests.support.suite import Network, Org

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
CSI_MATRICES = {"initiation": ["appointment", "greeting"],
                "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
                "facility": ["cleanliness", "comfort", "amenities"],
                "pickup": ["on_time", "explanation", "payment", "cleanliness"],
                "quality": ["diagnosis", "fixed_right", "complete"]}


@pytest.fixture
def phone(browser) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(**PHONE, locale="zh-CN")  # a Chinese phone: the page follows Accept-Language
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


@pytest.fixture(scope="module")
def csi_survey(dealer: Org) -> str:
    return published_survey(dealer, {"template": "csi"})


def fill_csi(page, *, score: int, nps: int, skip: str | None = None) -> None:  # noqa: ANN001
    for question, rows in CSI_MATRICES.items():
        for row in rows:
            if f"{question}.{row}" != skip:
                page.check(f"#q-{question}-{row}-{score}")
    page.check("#q-fixed_first_time-o0")
    page.check(f"#q-nps-{nps}")
    page.fill("#q-comment-input", "服务很好 / Great service")


class TestFillingTheSurvey:
    def test_a_customer_answers_every_question_in_chinese_and_english_and_is_thanked(
        self, network: Network, dealer: Org, csi_survey: str, phone, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        invitation = invite(dealer, csi_survey)
        page = phone
        page.goto(f"{network.url}/s/{invitation['token']}")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("h1").inner_text() == "售后服务满意度调查 (CSI)"
        assert page.locator("#q-nps_reason").is_hidden()
        page.screenshot(path=artifacts_dir / "survey-zh-CN.png", full_page=True)

        page.click("a.lang-switch")
        page.wait_for_url("**lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").inner_text() == "Service satisfaction survey (CSI)"
        page.screenshot(path=artifacts_dir / "survey-en.png", full_page=True)

        fill_csi(page, score=9, nps=6)
        # show_if in the browser: a detractor is asked why, at once, without a round trip.
        assert page.locator("#q-nps_reason").is_visible()
        page.fill("#q-nps_reason-input", "Waited a little long")
        assert page.locator("#survey-progress").evaluate("bar => bar.value") == 100
        page.screenshot(path=artifacts_dir / "survey-en-filled.png")
        page.click("button.submit")
        page.wait_for_selector("#thanks-title")
        assert page.locator("#thanks-title").inner_text() == "Thank you for your feedback!"
        page.screenshot(path=artifacts_dir / "survey-thanks.png")

        stored = dealer.client.get("/v1/survey-responses", params={"customer_id": invitation["customer_id"]}).json()
        (response,) = stored["items"]
        assert response["answers"]["nps"] == 6 and response["answers"]["quality"]["complete"] == 9
        assert response["answers"]["nps_reason"] == "Waited a little long"
        assert response["scores"]["index"] is not None and response["scores"]["nps_category"] == "detractor"

    def test_a_missing_required_answer_is_reported_next_to_its_question(
        self, network: Network, dealer: Org, csi_survey: str, phone, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        page = phone
        page.goto(f"{network.url}/s/{invite(dealer, csi_survey)['token']}")
        fill_csi(page, score=8, nps=9, skip="quality.complete")
        page.click("button.submit")
        page.wait_for_selector("#error-summary")
        message = page.locator("#q-quality-complete-error")
        assert message.is_visible() and message.inner_text().endswith("请回答此题")
        quality = page.locator("#q-quality")
        assert quality.locator(".question__error").first.inner_text().endswith("请为每一项打分")
        assert page.locator("#q-quality-complete-1").get_attribute("aria-invalid") == "true"
        assert page.locator("#q-quality-complete").get_attribute("aria-describedby") == "q-quality-complete-error"
        # What the customer had already answered is still there.
        assert page.locator("#q-quality-diagnosis-8").is_checked() and page.locator("#q-nps-9").is_checked()
        assert page.locator("#q-advisor").locator(".question__error").count() == 0
        quality.screenshot(path=artifacts_dir / "survey-error.png")
        page.screenshot(path=artifacts_dir / "survey-error-summary.png")

        page.check("#q-quality-complete-8")
        page.click("button.submit")
        page.wait_for_selector("#thanks-title")

    def test_the_form_works_without_javascript(self, network: Network, dealer: Org, csi_survey: str,
                                               browser) -> None:  # noqa: ANN001
        context = browser.new_context(**PHONE, java_script_enabled=False, locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(f"{network.url}/s/{invite(dealer, csi_survey)['token']}?lang=en")
            fill_csi(page, score=3, nps=2)
            page.click("button.submit")
            # The server shows the detractor's follow-up question, with the message under it.
            page.wait_for_selector("#q-nps_reason-error")
            assert page.locator("#q-nps_reason").is_visible()
            page.fill("#q-nps_reason-input", "Too slow")
            page.click("button.submit")
            page.wait_for_selector("#thanks-title")
        finally:
            context.close()


class TestLinks:
    def test_a_used_link_shows_a_friendly_page(self, network: Network, dealer: Org, csi_survey: str,
                                               phone, artifacts_dir: Path) -> None:  # noqa: ANN001
        token = invite(dealer, csi_survey)["token"]
        page = phone
        page.goto(f"{network.url}/s/{token}")
        fill_csi(page, score=10, nps=10)
        page.click("button.submit")
        page.wait_for_selector("#thanks-title")
        response = page.goto(f"{network.url}/s/{token}")
        assert response is not None and response.status == 410
        assert page.locator("h1").inner_text() == "您已完成此问卷"
        page.screenshot(path=artifacts_dir / "survey-used.png")
        page.click("a.lang-switch")
        assert page.locator("h1").inner_text() == "You have already answered this survey"
