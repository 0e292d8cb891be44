"""The customer's survey page `/s/{token}` through the real gateway, as plain HTTP (no browser):
every question type rendered accessibly, the form converted to typed answers, show_if and
validation without JavaScript, and friendly pages for links that cannot be answered."""

import re
import uuid
from urllib.parse import urlencode
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


# One question of every type, with a condition, a required matrix and an int-valued option.
EVERY_TYPE = {
    "code": "page_every_type", "kind": "custom", "title": _t("到店体验调查", "Visit experience survey"),
    "factors": [{"code": "staff", "title": _t("员工", "Staff"), "weight": 1}],
    "questions": [
        {"code": "overall", "type": "rating", "text": _t("总体满意度", "Overall satisfaction"),
         "scale_min": 1, "scale_max": 5, "required": True},
        {"code": "nps", "type": "nps", "text": _t("推荐意愿", "Would you recommend us?"), "required": True},
        {"code": "why_low", "type": "text", "text": _t("哪里让您不满意？", "What went wrong?"), "required": True,
         "show_if": {"question": "nps", "lte": 6}},
        {"code": "visits", "type": "single_choice", "text": _t("今年到店次数", "Visits this year"),
         "options": [{"value": 1, "label": _t("一次", "Once")}, {"value": 2, "label": _t("两次或更多", "Twice or more")}]},
        {"code": "liked", "type": "multi_choice", "text": _t("您喜欢哪些方面？", "What did you like?"),
         "options": [{"value": "coffee", "label": _t("咖啡", "Coffee")}, {"value": "wifi", "label": _t("无线网络", "Wi-Fi")},
                     {"value": "speed", "label": _t("速度", "Speed")}]},
        {"code": "staff", "type": "matrix", "text": _t("请为员工打分", "Rate our staff"), "scale_min": 1, "scale_max": 5,
         "factor": "staff", "required": True,
         "rows": [{"code": "advisor", "text": _t("服务顾问", "Service advisor")},
                  {"code": "cashier", "text": _t("收银员", "Cashier")}]},
        {"code": "comment", "type": "text", "text": _t("其他意见", "Anything else?")},
    ],
}


def phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def customer(org: Org, dealer_code: str, *, survey_consent: bool = True) -> dict:
    body = {"external_id": uuid.uuid4().hex[:12], "dealer_code": dealer_code, "name": "张伟", "phone": phone(),
            "consent": {"survey": survey_consent, "marketing": False, "share_with_manufacturer": True}}
    created = org.client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def published_survey(org: Org, body: dict) -> str:
    created = org.client.post("/v1/surveys", json=body)
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]
    published = org.client.post(f"/v1/surveys/{survey_id}/publish")
    assert published.status_code in (200, 201), published.text
    return survey_id


def post_invitation(org: Org, body: dict) -> httpx.Response:
    """POST an invitation. The customer may have been created a moment ago: the survey service then
    asks the customer service, so the call needs no retry while the customer event is on its way."""
    return org.client.post("/v1/survey-invitations", json=body)


def invite(dealer: Org, survey_id: str, *, owner: Org | None = None) -> dict:
    """A fresh customer of `dealer` (one invitation per customer per 30 days) invited now. The link of a
    survey owned above the dealer is shown to its `owner` only, so `owner` reads `token` and `url` then."""
    someone = customer(dealer, dealer.code)
    invited = post_invitation(dealer, {"survey_id": survey_id, "customer_id": someone["id"],
                                       "dealer_code": dealer.code, "channel": "sms"})
    assert invited.status_code == 201, invited.text
    invitation = invited.json() | {"customer_id": someone["id"]}
    if owner is not None:
        url = owner.client.get(f"/v1/survey-invitations/{invitation['id']}").json()["url"]
        invitation |= {"url": url, "token": url.rsplit("/", 1)[1]}
    return invitation


def page_client(network: Network) -> httpx.Client:
    """A browser-like caller: no API key, form posts."""
    return httpx.Client(base_url=network.url, timeout=30)


class Inputs(HTMLParser):
    """The form controls, labels, fieldsets and legends of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.fieldsets: list[dict[str, str | None]] = []
        self.legends = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "textarea", "select"):
            self.controls.append(attributes)
        elif tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"])
        elif tag == "fieldset":
            self.fieldsets.append(attributes)
        elif tag == "legend":
            self.legends += 1


def question_block(html: str, code: str) -> str:
    match = re.search(rf'<fieldset class="question[^"]*" id="q-{code}".*?</fieldset>\s*(?=<fieldset class="question|<button)',
                      html, re.S)
    assert match, f"no question {code} on the page"
    return match[0]


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


@pytest.fixture(scope="module")
def every_type_survey(dealer: Org) -> str:
    return published_survey(dealer, EVERY_TYPE | {"code": f"page_{uuid.uuid4().hex[:8]}"})


def post_form(client: httpx.Client, url: str, pairs: list[tuple[str, str]], **params: str) -> httpx.Response:
    """POST as a browser does: application/x-www-form-urlencoded, a field repeated per checkbox."""
    return client.post(url, content=urlencode(pairs), params=params,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def full_form(nps: str = "9") -> list[tuple[str, str]]:
    return [("overall", "4"), ("nps", nps), ("why_low", "等待太久"), ("visits", "2"), ("liked", "coffee"),
            ("liked", "speed"), ("staff.advisor", "5"), ("staff.cashier", "3"), ("comment", "谢谢\r\n再见")]


class TestRendering:
    def test_every_question_type_renders_with_labels_a_screen_reader_can_read(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        token = invite(dealer, every_type_survey)["token"]
        page = page_client(network).get(f"/s/{token}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in page.text
        assert "到店体验调查" in page.text and "Test dealer" in page.text
        parsed = Inputs(page.text)
        questions = [f for f in parsed.fieldsets if "question" in (f.get("class") or "").split()]
        assert [f["id"] for f in questions] == [f"q-{q['code']}" for q in EVERY_TYPE["questions"]]
        assert parsed.legends >= len(questions) + 2  # one per question and one per matrix row
        for control in parsed.controls:
            assert control["id"] in parsed.label_for, f"no label for {control}"
        by_name: dict[str, list[dict]] = {}
        for control in parsed.controls:
            by_name.setdefault(control["name"], []).append(control)
        assert [c["value"] for c in by_name["overall"]] == ["1", "2", "3", "4", "5"]
        assert [c["value"] for c in by_name["nps"]] == [str(n) for n in range(11)]
        assert {c["type"] for c in by_name["visits"]} == {"radio"}
        assert {c["type"] for c in by_name["liked"]} == {"checkbox"}
        assert len(by_name["staff.advisor"]) == len(by_name["staff.cashier"]) == 5
        assert 'name="comment"' in question_block(page.text, "comment") and "<textarea" in page.text

    def test_a_question_whose_condition_is_false_is_hidden_until_the_answer_needs_it(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        token = invite(dealer, every_type_survey)["token"]
        page = page_client(network).get(f"/s/{token}")
        assert re.search(r'id="q-why_low"[^>]*\shidden disabled', page.text)
        assert not re.search(r'id="q-comment"[^>]*\shidden', page.text)

    def test_english_on_request_with_a_link_back_to_chinese(self, network: Network, dealer: Org,
                                                             every_type_survey: str) -> None:
        token = invite(dealer, every_type_survey)["token"]
        client = page_client(network)
        english = client.get(f"/s/{token}", params={"lang": "en"})
        assert english.status_code == 200
        assert '<html lang="en">' in english.text and "Visit experience survey" in english.text
        assert "Rate our staff" in english.text and "到店体验调查" not in english.text
        assert f'href="/s/{token}?lang=zh-CN"' in english.text
        chinese = client.get(f"/s/{token}")
        assert f'href="/s/{token}?lang=en"' in chinese.text
        assert client.get(f"/s/{token}", params={"lang": "fr"}).text.count('<html lang="zh-CN">') == 1

    def test_the_page_is_not_cached_and_leaks_no_referrer(self, network: Network, dealer: Org,
                                                          every_type_survey: str) -> None:
        token = invite(dealer, every_type_survey)["token"]
        page = page_client(network).get(f"/s/{token}")
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'nonce-" in page.headers["content-security-policy"]
        css = page_client(network).get("/static/survey.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        script = page_client(network).get("/static/survey-conditions.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert '<script nonce="' in page.text and "/static/survey-conditions.js?v=" in page.text


class TestSubmitting:
    def test_the_form_becomes_typed_answers_and_a_thank_you_page(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        invitation = invite(dealer, every_type_survey)
        thanks = post_form(page_client(network), f"/s/{invitation['token']}", full_form())
        assert thanks.status_code == 200, thanks.text
        assert "感谢您的反馈" in thanks.text
        stored = dealer.client.get("/v1/survey-responses", params={"customer_id": invitation["customer_id"]}).json()
        (response,) = stored["items"]
        assert response["answers"] == {"overall": 4, "nps": 9, "visits": 2, "liked": ["coffee", "speed"],
                                       "staff": {"advisor": 5, "cashier": 3}, "comment": "谢谢\n再见"}
        assert response["scores"]["nps_category"] == "promoter"

    def test_a_missing_required_answer_is_shown_under_its_question_with_the_answers_kept(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        token = invite(dealer, every_type_survey)["token"]
        form = [pair for pair in full_form() if pair[0] != "staff.cashier"]
        page = post_form(page_client(network), f"/s/{token}", form)
        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        staff = question_block(page.text, "staff")
        assert "请回答此题" in staff and 'aria-invalid="true"' in staff
        assert re.search(r'id="q-staff-cashier"[^>]*aria-describedby="q-staff-cashier-error"', staff)
        assert 'class="error-summary"' in page.text and 'href="#q-staff"' in page.text
        assert re.search(r'id="q-overall-4" name="overall" value="4" checked', page.text)
        assert re.search(r'id="q-staff-advisor-5" name="staff.advisor" value="5" checked', page.text)
        assert "谢谢\n再见" in page.text
        assert "aria-invalid" not in question_block(page.text, "overall")

    def test_a_low_nps_without_its_follow_up_shows_the_follow_up_with_the_message(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        token = invite(dealer, every_type_survey)["token"]
        form = [pair for pair in full_form(nps="3") if pair[0] != "why_low"]
        page = post_form(page_client(network), f"/s/{token}", form, lang="en")
        assert page.status_code == 422
        why_low = question_block(page.text, "why_low")
        assert " hidden" not in why_low.split(">", 1)[0]
        assert "Please answer this question" in why_low
        assert re.search(r'<fieldset[^>]*id="q-why_low"[^>]*aria-describedby="q-why_low-error"', why_low)

    def test_an_answer_to_a_hidden_question_is_dropped_not_refused(
        self, network: Network, dealer: Org, every_type_survey: str,
    ) -> None:
        invitation = invite(dealer, every_type_survey)
        assert post_form(page_client(network), f"/s/{invitation['token']}", full_form(nps="10")).status_code == 200
        stored = dealer.client.get("/v1/survey-responses", params={"customer_id": invitation["customer_id"]}).json()
        assert "why_low" not in stored["items"][0]["answers"]

    def test_a_bad_value_is_reported_not_a_server_error(self, network: Network, dealer: Org,
                                                        every_type_survey: str) -> None:
        token = invite(dealer, every_type_survey)["token"]
        form = [(name, "11" if name == "overall" else value) for name, value in full_form()]
        page = post_form(page_client(network), f"/s/{token}", form)
        assert page.status_code == 422
        assert "请选择量表内的分数" in question_block(page.text, "overall")


class TestLinks:
    def test_a_used_link_shows_a_friendly_page(self, network: Network, dealer: Org, every_type_survey: str) -> None:
        token = invite(dealer, every_type_survey)["token"]
        client = page_client(network)
        assert post_form(client, f"/s/{token}", full_form()).status_code == 200
        again = client.get(f"/s/{token}")
        assert again.status_code == 410
        assert again.headers["content-type"].startswith("text/html")
        assert "您已完成此问卷" in again.text
        retried = post_form(client, f"/s/{token}", full_form())
        assert retried.status_code == 410 and "您已完成此问卷" in retried.text

    def test_an_unknown_link_is_an_html_404(self, network: Network) -> None:
        page = page_client(network).get("/s/not-a-real-token", params={"lang": "en"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Link not recognised" in page.text and '<html lang="en">' in page.text
        assert page_client(network).get("/s/" + "x" * 500).status_code == 404


async def test_without_the_survey_service_the_page_says_so_politely(tmp_path: Path) -> None:
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    app = create_app(GatewaySettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gateway.db", survey_url=None),
                     migrate=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            page = await client.get("/s/some-token")
            posted = await client.post("/s/some-token", data={"nps": "9"})
    assert page.status_code == posted.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "服务暂时不可用" in page.text
