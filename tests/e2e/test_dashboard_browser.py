"""The dashboard `/ui` in a real browser (Debian's chromium driven by Playwright) over the whole suite:
a distributor's user logs in, sees only its subtree, switches organisation, period and language,
and every chart is drawn from real figures (seeded through the public APIs, counted by the kpi
service from the events). A chart without data points fails the test.

Screenshots go to test-artifacts/dashboard-*.png.
"""

import random
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.topology import built_components
from tests.e2e.test_survey_page import customer, post_invitation, published_survey
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif("kpi" not in {c.name for c in built_components()},
                       reason="the kpi service (services/kpi/app.py) is not built: the dashboard has nothing to draw"),
]

LAPTOP = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PASSWORD = "dashboard-pass-1"
CHARTS = ("chart-ranking", "chart-trends", "chart-radar", "chart-drivers", "chart-complaints")
CSI_RESPONSES = 32  # importance needs 30 (KPI.md)
SSI_RESPONSES = 4
CATEGORIES = ("repair_quality", "staff_attitude", "repair_quality", "price_billing")


@dataclass
class Seeded:
    distributor: Org
    dealer: Org
    sibling: Org
    username: str


# --- seeding through the public APIs -------------------------------------------------------------

def answers(survey: dict[str, Any], quality: int, rng: random.Random) -> dict[str, Any]:
    """A plausible answer to every question, factor scores spread around `quality` (0-10)."""
    given: dict[str, Any] = {}
    for question in survey["questions"]:
        low, high = question.get("scale_min", 0), question.get("scale_max", 10)

        def score() -> int:
            return max(low, min(high, round(low + (high - low) * (quality + rng.uniform(-2, 2)) / 10)))

        match question["type"]:
            case "rating":
                given[question["code"]] = score()
            case "nps":
                given[question["code"]] = max(0, min(10, quality + rng.choice((-1, 0, 1))))
            case "matrix":
                given[question["code"]] = {row["code"]: score() for row in question["rows"]}
            case "single_choice":
                given[question["code"]] = question["options"][0]["value"]
            case "multi_choice":
                given[question["code"]] = [question["options"][0]["value"]]
            case "text":
                given[question["code"]] = "好"
    return given


def respond(network: Network, dealer: Org, survey_id: str, quality: int, rng: random.Random) -> None:
    someone = customer(dealer, dealer.code)
    invited = post_invitation(dealer, {
        "survey_id": survey_id, "customer_id": someone["id"], "dealer_code": dealer.code, "channel": "sms"})
    assert invited.status_code == 201, invited.text
    token = invited.json()["token"]
    public = network.client(None)
    survey = public.get(f"/v1/public/surveys/{token}").json()
    sent = public.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers(survey, quality, rng)})
    assert sent.status_code in (200, 201), sent.text


def service_history(dealer: Org, rng: random.Random) -> str:
    """A customer with a delivered car and a closed repair order; returns the customer id."""
    someone = customer(dealer, dealer.code)
    vin = "LVGBE40K" + "0" + uuid.uuid4().hex[:8].upper()
    vin = vin[:8] + _check_digit(vin) + vin[9:]
    now = datetime.now(UTC)
    for path, body in (
        ("/v1/vehicles", {"vin": vin, "model": "Camry", "model_year": 2025, "plate": "京A12345",
                          "owner_customer_id": someone["id"]}),
        ("/v1/deliveries", {"vin": vin, "customer_id": someone["id"], "dealer_code": dealer.code,
                            "delivered_at": (now - timedelta(days=400)).isoformat(), "sales_consultant": on_staff(dealer, "Li", "sales_consultant")}),
        ("/v1/service-visits", {"ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": vin, "customer_id": someone["id"],
                                "dealer_code": dealer.code, "visit_type": rng.choice(("repair", "maintenance")),
                                "opened_at": (now - timedelta(hours=5)).isoformat(),
                                "closed_at": (now - timedelta(hours=1)).isoformat(), "symptom_codes": ["BRK-01"],
                                "op_codes": ["OP-100"], "mileage_km": 12000, "amount_minor": 50000, "advisor": on_staff(dealer, "Wang")}),
    ):
        created = dealer.client.post(path, json=body)
        assert created.status_code == 201, f"{path}: {created.text}"
    return someone["id"]


def _check_digit(vin: str) -> str:
    from shared.types import vin_check_digit

    return vin_check_digit(vin)


def wait_for_figures(org: Org, period: str, timeout: float = 90) -> dict[str, Any]:
    """The kpi service counts from events the relays deliver: poll until every panel has something."""
    deadline = time.monotonic() + timeout
    while True:
        summary = org.client.get("/v1/kpi/summary", params={"org_code": org.code, "period": period}).json()
        complaints = org.client.get("/v1/kpi/complaints", params={"org_code": org.code, "period": period}).json()
        drivers = org.client.get("/v1/kpi/drivers", params={"kind": "csi", "org_code": org.code, "period": period}).json()
        kpis = summary.get("kpis", {})
        ready = ((kpis.get("csi") or {}).get("n", 0) >= CSI_RESPONSES and (kpis.get("ssi") or {}).get("value") is not None
                 and sum((complaints.get("by_category") or {}).values()) >= len(CATEGORIES)
                 and any(f.get("importance") is not None for f in drivers.get("factors", [])))
        if ready:
            return summary
        if time.monotonic() > deadline:
            raise AssertionError(f"figures never arrived: {summary} {complaints} {drivers}")
        time.sleep(1)


@pytest.fixture(scope="module")
def seeded(network: Network) -> Seeded:
    rng = random.Random(7)
    distributor = network.org("distributor")
    dealer = network.org("dealer", distributor)
    sibling = network.org("dealer", distributor)
    for org, csi_count in ((dealer, CSI_RESPONSES), (sibling, 6)):
        csi = published_survey(org, {"template": "csi"})
        ssi = published_survey(org, {"template": "ssi"})
        for _ in range(csi_count):
            respond(network, org, csi, rng.randint(4, 10), rng)
        for _ in range(SSI_RESPONSES):
            respond(network, org, ssi, rng.randint(5, 10), rng)
    customers = [service_history(dealer, rng) for _ in range(3)]
    for index, category in enumerate(CATEGORIES):
        opened = dealer.client.post("/v1/complaints", json={
            "dealer_code": dealer.code, "customer_id": customers[index % len(customers)], "channel": "hotline",
            "category": category, "priority": "P3", "description": "Waited two hours for the car"})
        assert opened.status_code == 201, opened.text
    month = datetime.now(UTC).strftime("%Y-%m")
    target = network.manufacturer.client.put("/v1/kpi/targets", json={"org_code": dealer.code, "kpi": "csi",
                                                                       "period": month, "target": 80})
    assert target.status_code in (200, 201), target.text
    username = f"dash-{uuid.uuid4().hex[:8]}"
    user = network.manufacturer.client.post("/v1/users", json={
        "username": username, "password": PASSWORD, "org_code": distributor.code, "roles": ["viewer"],
        "scopes": ["kpi:read"]})
    assert user.status_code == 201, user.text
    wait_for_figures(dealer, month)
    return Seeded(distributor, dealer, sibling, username)


# --- the browser -----------------------------------------------------------------------------------

@contextmanager
def opened_page(browser, viewport: dict) -> Iterator[tuple[object, list[str]]]:  # noqa: ANN001
    """A page in a browser context of its own, and the script errors it raises; the context is
    closed afterwards, whatever the test asserted."""
    context = browser.new_context(**viewport, locale="zh-CN")  # a Chinese browser: the page follows Accept-Language
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        yield page, problems
    finally:
        context.close()


def log_in(page, network: Network, username: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto(f"{network.url}/ui")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def wait_rendered(page, org: str, period: str | None = None, lang: str | None = None) -> None:  # noqa: ANN001
    page.wait_for_function(
        "([org, period, lang]) => { const r = (document.body.dataset.rendered || '').split('|');"
        " return r[0] === org && (!period || r[1] === period) && (!lang || r[2] === lang); }",
        arg=[org, period, lang], timeout=30_000)
    page.wait_for_timeout(500)  # the charts' entry animation


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def last_complete_month() -> str:
    first = datetime.now(UTC).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def show_month(page, org: str, month: str) -> None:  # noqa: ANN001
    """The seeded figures are this month's; the page opens on the last complete one."""
    page.select_option("#period-kind", "month")
    page.select_option("#period-picker", month)
    wait_rendered(page, org, month)


def axis_extent(page, chart_id: str, axis: str, index: int = 0) -> list[float]:  # noqa: ANN001
    """The range echarts actually drew on an axis (not what the option asked for)."""
    return page.evaluate("""([id, axis, index]) => echarts.getInstanceByDom(document.getElementById(id))
        .getModel().getComponent(axis, index).axis.scale.getExtent()""", [chart_id, axis, index])


def drawn_texts(page, chart_id: str) -> list[str]:  # noqa: ANN001
    """Every text echarts painted on the canvas (labels, axis names), read from its scene graph."""
    return page.evaluate("""(id) => {
        const chart = echarts.getInstanceByDom(document.getElementById(id));
        const texts = [];
        chart.getZr().storage.getDisplayList(true).forEach((el) => {
            if (el.style && typeof el.style.text === 'string') texts.push(el.style.text);
        });
        return texts;
    }""", chart_id)


def points(page, chart_id: str) -> int:  # noqa: ANN001
    return page.evaluate("""(id) => {
        const el = document.getElementById(id);
        const chart = el && !el.hidden && echarts.getInstanceByDom(el);
        if (!chart) return 0;
        const series = chart.getOption().series[0];
        return (series.data || []).filter((d) => d !== null && d !== undefined).length;
    }""", chart_id)


def assert_every_chart_has_points(page) -> None:  # noqa: ANN001
    empty = [chart for chart in CHARTS if points(page, chart) == 0]
    assert not empty, f"charts without data points: {empty}"


class TestDashboard:
    def test_a_distributor_user_sees_every_chart_for_its_dealer_and_can_switch_period_and_language(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            page.goto(f"{network.url}/ui")
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            page.screenshot(path=artifacts_dir / "dashboard-login.png")
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            # The picker offers the user's subtree only: the distributor and its two dealers.
            offered = page.locator("#org-picker option").evaluate_all("options => options.map(o => o.value)")
            assert {seeded.distributor.code, seeded.dealer.code, seeded.sibling.code} <= set(offered)
            assert network.manufacturer.code not in offered
            assert page.evaluate("sessionStorage.getItem('csloop.dashboard.token')") is not None
            page.screenshot(path=artifacts_dir / "dashboard-distributor.png", full_page=True)

            month = this_month()
            page.select_option("#org-picker", seeded.dealer.code)
            wait_rendered(page, seeded.dealer.code, last_complete_month())
            show_month(page, seeded.dealer.code, month)
            assert_every_chart_has_points(page)
            assert points(page, "chart-ranking") == 2  # the dealer among its siblings
            assert points(page, "chart-radar") == 2  # the dealer and its parent
            csi = page.locator(".tile[data-kpi=csi]")
            assert csi.locator(".tile__number").inner_text() != "—"
            assert csi.locator(".badge").inner_text() in ("达标", "未达标")
            assert page.locator("#improve-first").inner_text().startswith("优先改进")
            # Low survey scores open cases too (survey alerts): the panel shows what the kpi service counts.
            counted = seeded.dealer.client.get("/v1/kpi/complaints", params={"org_code": seeded.dealer.code,
                                                                            "period": month}).json()
            assert page.locator("#complaints-open").inner_text() == str(counted["open"])
            assert counted["open"] >= len(CATEGORIES)
            page.screenshot(path=artifacts_dir / "dashboard-dealer.png", full_page=True)
            for chart in CHARTS:
                page.locator(f"#{chart}").screenshot(path=artifacts_dir / f"dashboard-{chart.removeprefix('chart-')}.png")
            page.locator("#tiles").screenshot(path=artifacts_dir / "dashboard-tiles.png")

            page.select_option("#period-kind", "quarter")
            quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
            page.select_option("#period-picker", quarter)
            wait_rendered(page, seeded.dealer.code, quarter)
            assert_every_chart_has_points(page)
            assert page.locator("#period-name").inner_text() == f"{month[:4]}年第{quarter[-1]}季度"
            page.screenshot(path=artifacts_dir / "dashboard-quarter.png", full_page=True)

            page.click("#lang-switch")
            wait_rendered(page, seeded.dealer.code, quarter, "en")
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.locator("#card-ranking h2").inner_text() == "Dealer ranking"
            assert page.locator("#improve-first").inner_text().startswith("Improve first")
            page.screenshot(path=artifacts_dir / "dashboard-en.png", full_page=True)
            assert not problems, problems

    def test_a_period_without_records_shows_no_data_instead_of_empty_charts(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.select_option("#period-kind", "year")
            year = str(datetime.now(UTC).year - 3)
            page.select_option("#period-picker", year)
            wait_rendered(page, seeded.distributor.code, year)
            for chart in ("chart-ranking", "chart-radar", "chart-drivers", "chart-complaints"):
                assert page.locator(f"#{chart}").is_hidden()
                assert page.locator(f"#{chart} + .empty").inner_text().startswith("暂无数据")
            assert page.locator(".tile[data-kpi=csi] .tile__number").inner_text() == "—"
            page.screenshot(path=artifacts_dir / "dashboard-empty.png", full_page=True)
            assert not problems, problems

    def test_a_wrong_password_is_refused_in_place(self, network: Network, seeded: Seeded, browser) -> None:  # noqa: ANN001
        with opened_page(browser, LAPTOP) as (page, _):
            log_in(page, network, seeded.username, "not-the-password")
            page.wait_for_selector("#login-error:not([hidden])")
            assert page.locator("#login-error").inner_text() == "用户名或密码错误"
            assert page.locator("#board").is_hidden()

    def test_on_a_phone_the_panels_stack_and_charts_fit_the_screen(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, PHONE) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.select_option("#org-picker", seeded.dealer.code)
            wait_rendered(page, seeded.dealer.code)
            show_month(page, seeded.dealer.code, this_month())
            assert_every_chart_has_points(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
            page.screenshot(path=artifacts_dir / "dashboard-phone.png", full_page=True)
            assert not problems, problems

    def test_names_from_the_api_are_shown_as_text_never_as_html(
        self, network: Network, seeded: Seeded, browser,  # noqa: ANN001
    ) -> None:
        name = '<img src=x onerror="window.__injected=1">Dealer'
        code = f"DEA-{uuid.uuid4().hex[:8].upper()}"
        created = network.manufacturer.client.post("/v1/orgs", json={
            "code": code, "name": name, "kind": "dealer", "parent_code": seeded.distributor.code, "region": "Test"})
        assert created.status_code == 201, created.text
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.select_option("#org-picker", code)
            wait_rendered(page, code)
            assert page.locator("#org-name").inner_text() == name
            assert name in page.locator(f"#org-picker option[value='{code}']").inner_text()
            assert page.evaluate("window.__injected") is None
            assert page.locator("img[src=x]").count() == 0
            assert not problems, problems


class TestWhatACsManagerTrippedOver:
    """Issue 15 item 5: the six things a CS manager misread on the dashboard."""

    def test_the_page_opens_on_the_last_complete_month_and_a_new_kind_on_the_period_holding_it(
        self, network: Network, seeded: Seeded, browser,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            last = last_complete_month()
            wait_rendered(page, seeded.distributor.code, last)
            assert page.locator("#period-picker").input_value() == last
            assert page.locator("#period-name").inner_text() == f"{last[:4]}年{int(last[5:])}月"
            page.select_option("#period-kind", "quarter")
            quarter = f"{last[:4]}-Q{(int(last[5:]) - 1) // 3 + 1}"
            wait_rendered(page, seeded.distributor.code, quarter)
            page.select_option("#period-kind", "year")
            wait_rendered(page, seeded.distributor.code, last[:4])
            assert not problems, problems

    def test_a_tile_on_fewer_than_10_records_is_shaded_and_says_so_in_both_languages(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        month = this_month()
        kpis = seeded.dealer.client.get("/v1/kpi/summary", params={"org_code": seeded.dealer.code, "period": month}).json()["kpis"]
        assert kpis["ssi"]["n"] == SSI_RESPONSES < 10 <= kpis["csi"]["n"], kpis  # the fixture gives one of each
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.select_option("#org-picker", seeded.dealer.code)
            wait_rendered(page, seeded.dealer.code)
            show_month(page, seeded.dealer.code, month)
            ssi, csi = page.locator(".tile[data-kpi=ssi]"), page.locator(".tile[data-kpi=csi]")
            assert "tile--thin" in ssi.get_attribute("class")
            assert ssi.locator(".tile__thin").inner_text() == "样本少于 10 条，仅供参考"
            assert ssi.evaluate("el => getComputedStyle(el).backgroundImage").startswith("repeating-linear-gradient")
            assert "tile--thin" not in csi.get_attribute("class")
            assert csi.locator(".tile__thin").count() == 0
            thin = {kpi for kpi, figure in kpis.items() if figure.get("value") is not None and figure["n"] < 10}
            tiles = set(page.locator(".tile").evaluate_all("tiles => tiles.map(t => t.dataset.kpi)"))
            assert set(page.locator(".tile--thin").evaluate_all("tiles => tiles.map(t => t.dataset.kpi)")) == thin & tiles
            page.locator("#tiles").screenshot(path=artifacts_dir / "dashboard-thin-tiles.png")
            page.click("#lang-switch")
            wait_rendered(page, seeded.dealer.code, month, "en")
            assert ssi.locator(".tile__thin").inner_text() == "Fewer than 10 records"
            assert not problems, problems

    def test_ranking_bars_start_at_zero(self, network: Network, seeded: Seeded, browser) -> None:  # noqa: ANN001
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            show_month(page, seeded.distributor.code, this_month())
            assert points(page, "chart-ranking") == 2
            low, high = axis_extent(page, "chart-ranking", "xAxis")
            assert low == 0 and high >= 50, (low, high)  # the CSI of both dealers is well above 0
            assert not problems, problems

    def test_nps_has_its_own_panel_below_csi_and_ssi(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            show_month(page, seeded.distributor.code, this_month())
            option = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-trends')).getOption()")
            panels = {series["name"]: (series["xAxisIndex"], series["yAxisIndex"]) for series in option["series"]}
            assert panels == {"CSI": (0, 0), "SSI": (0, 0), "NPS": (1, 1)}, panels
            assert axis_extent(page, "chart-trends", "yAxis", 0) == [0, 100]
            assert axis_extent(page, "chart-trends", "yAxis", 1) == [-100, 100]
            top, bottom = page.evaluate("""() => [0, 1].map((i) => { const r = echarts.getInstanceByDom(
                document.getElementById('chart-trends')).getModel().getComponent('grid', i).coordinateSystem.getRect();
                return [r.y, r.y + r.height]; })""")
            assert top[1] < bottom[0], (top, bottom)  # two panels, one above the other
            page.locator("#card-trends").screenshot(path=artifacts_dir / "dashboard-trends-panels.png")
            assert not problems, problems

    def test_the_radar_writes_the_organisations_scores_at_its_points(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        month = this_month()
        factors = seeded.dealer.client.get("/v1/kpi/drivers", params={
            "kind": "csi", "org_code": seeded.dealer.code, "period": month}).json()["factors"]
        expected = {f"{factor['performance']:.1f}" for factor in factors if factor["performance"] is not None}
        assert len(expected) >= 3, factors
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.select_option("#org-picker", seeded.dealer.code)
            wait_rendered(page, seeded.dealer.code)
            show_month(page, seeded.dealer.code, month)
            assert expected <= set(drawn_texts(page, "chart-radar")), drawn_texts(page, "chart-radar")
            page.locator("#card-radar").screenshot(path=artifacts_dir / "dashboard-radar-values.png")
            assert not problems, problems

    def test_the_english_phone_layout_fits_390_pixels(
        self, network: Network, seeded: Seeded, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, PHONE) as (page, problems):
            log_in(page, network, seeded.username)
            wait_rendered(page, seeded.distributor.code)
            page.click("#lang-switch")
            page.select_option("#org-picker", seeded.dealer.code)
            show_month(page, seeded.dealer.code, this_month())
            wait_rendered(page, seeded.dealer.code, this_month(), "en")
            assert_every_chart_has_points(page)
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > 390.5 && !el.closest('.scroll-x'))
                .map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
            page.screenshot(path=artifacts_dir / "dashboard-phone-en.png", full_page=True)
            assert not problems, problems
