"""The dashboard's people, dealer evaluation and improvement plan panels (issue 15 item 5) in Debian's
chromium, against the real endpoints, the data seeded through the public APIs:

- dealer A: advisor SA1 on 10 CSI responses (ranked), SA2 on 3 (below the minimum n: unranked), all
  answered near the top of the scale; dealer B: 2 CSI responses answered near the bottom;
- the manufacturer's scheme "00-dashboard" (listed first: schemes come by code): one element, CSI
  from 0 to 100 points, so each dealer's score is its CSI; tiers A from 70 (2% rebate), B from 0 (0.5%);
- dealer A's open plan (status do): three actions, one done, one past its due date; a closed plan.

A panel whose endpoint answers 403 or 404 is left out: tested by answering those in the browser.
Screenshots go to test-artifacts/dashboard-panel-*.png.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_dashboard_browser import (  # noqa: F401 (pytestmark: the same skips)
    LAPTOP,
    PASSWORD,
    PHONE,
    answers,
    drawn_texts,
    last_complete_month,
    log_in,
    opened_page,
    pytestmark,
    show_month,
    this_month,
    wait_rendered,
)
from tests.e2e.test_survey_page import customer, post_invitation, published_survey
from tests.support.polling import eventually
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

SCHEME = "00-dashboard"


@dataclass
class World:
    distributor: Org
    dealer_a: Org
    dealer_b: Org
    ranked: str
    unranked: str
    open_plan: str
    closed_plan: str
    username: str


def respond(network: Network, dealer: Org, survey_id: str, quality: int, rng: random.Random,
            advisor: str | None = None) -> None:
    someone = customer(dealer, dealer.code)
    context = {"staff": {"advisor": advisor}} if advisor else {}
    invited = post_invitation(dealer, {"survey_id": survey_id, "customer_id": someone["id"], "dealer_code": dealer.code,
                                       "channel": "sms", "context": context})
    assert invited.status_code == 201, invited.text
    public = network.client(None)
    token = invited.json()["token"]
    survey = public.get(f"/v1/public/surveys/{token}").json()
    sent = public.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers(survey, quality, rng)})
    assert sent.status_code in (200, 201), sent.text


def plan(dealer: Org, actions: list[dict[str, Any]]) -> str:
    month = this_month()
    created = dealer.client.post("/v1/improvement-plans", json={
        "org_code": dealer.code, "kpi": "csi", "period": last_complete_month(), "baseline": 70.0, "target": 80.0,
        "recheck_period": month, "cause": "Cars handed back unwashed", "source": {"kind": "kpi_gap", "ref": "csi"},
        "actions": actions})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def move(dealer: Org, plan_id: str, *steps: str) -> None:
    for step in steps:
        moved = dealer.client.post(f"/v1/improvement-plans/{plan_id}/transitions", json={"to": step})
        assert moved.status_code == 200, moved.text


@pytest.fixture(scope="module")
def world(network: Network) -> World:
    rng = random.Random(15)
    distributor = network.org("distributor")
    dealer_a = network.org("dealer", distributor)
    dealer_b = network.org("dealer", distributor)
    tag = uuid.uuid4().hex[:4].upper()
    ranked = on_staff(dealer_a, f"SA1-{tag}", name="陈杰")
    unranked = on_staff(dealer_a, f"SA2-{tag}", name="Wang Fang")
    survey_a = published_survey(dealer_a, {"template": "csi"})
    survey_b = published_survey(dealer_b, {"template": "csi"})
    for index in range(13):
        respond(network, dealer_a, survey_a, 9, rng, ranked if index < 10 else unranked)
    for _ in range(2):
        respond(network, dealer_b, survey_b, 2, rng)

    scheme = network.manufacturer.client.put(f"/v1/evaluation-schemes/{SCHEME}", json={
        "title": "Dashboard test", "elements": [{"code": "CS", "title": "CS improvement", "weight": 1, "kpis": [
            {"kpi": "csi", "weight": 1, "floor": 0, "ceiling": 100}]}],
        "tiers": [{"name": "A", "min_score": 70, "rebate_pct": 2.0}, {"name": "B", "min_score": 0, "rebate_pct": 0.5}]})
    assert scheme.status_code in (200, 201), scheme.text

    today = datetime.now(UTC).date()
    open_plan = plan(dealer_a, [
        {"description": "Wash every car before hand-over", "owner": ranked, "due": str(today + timedelta(days=7))},
        {"description": "Brief the advisors", "owner": ranked, "due": str(today - timedelta(days=2))},
        {"description": "Check ten cars a week", "owner": unranked, "due": str(today + timedelta(days=14))}])
    done = dealer_a.client.post(f"/v1/improvement-plans/{open_plan}/actions/0/done")
    assert done.status_code == 200, done.text
    move(dealer_a, open_plan, "do")
    closed_plan = plan(dealer_a, [{"description": "Old action", "owner": ranked, "due": str(today - timedelta(days=30))}])
    move(dealer_a, closed_plan, "do", "check", "closed")

    username = f"dash-panels-{uuid.uuid4().hex[:8]}"
    user = network.manufacturer.client.post("/v1/users", json={
        "username": username, "password": PASSWORD, "org_code": distributor.code, "roles": ["viewer"],
        "scopes": ["kpi:read"]})
    assert user.status_code == 201, user.text

    def counted() -> bool:
        people = distributor.client.get("/v1/kpi/people", params={
            "org_code": distributor.code, "period": this_month(), "role": "service_advisor", "kpi": "csi"}).json()
        seen = {item["staff_code"]: item["n"] for item in people.get("items", [])}
        csi_b = distributor.client.get("/v1/kpi/summary", params={"org_code": dealer_b.code, "period": this_month()}).json()
        return seen == {ranked: 10, unranked: 3} and (csi_b.get("kpis", {}).get("csi") or {}).get("n") == 2

    eventually(counted, "the people figures", timeout=90)
    return World(distributor, dealer_a, dealer_b, ranked, unranked, open_plan, closed_plan, username)


def open_board(page, network: Network, world: World, org: str | None = None) -> None:  # noqa: ANN001
    log_in(page, network, world.username)
    wait_rendered(page, world.distributor.code, last_complete_month())
    if org:
        page.select_option("#org-picker", org)
        wait_rendered(page, org)
    show_month(page, org or world.distributor.code, this_month())


class TestPanels:
    def test_advisors_are_drawn_with_their_intervals_and_the_unranked_one_is_marked(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        answer = world.distributor.client.get("/v1/kpi/people", params={
            "org_code": world.dealer_a.code, "period": this_month(), "role": "service_advisor", "kpi": "csi"}).json()
        by_code = {item["staff_code"]: item for item in answer["items"]}
        assert by_code[world.ranked]["rank"] == 1 and by_code[world.unranked]["rank"] is None, answer
        with opened_page(browser, LAPTOP) as (page, problems):
            open_board(page, network, world, world.dealer_a.code)
            assert page.locator("#card-people").is_visible()
            option = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-people')).getOption()")
            bars, whiskers = option["series"]
            names = option["yAxis"][0]["data"]
            # Ranked people first from the top (the category axis runs bottom-up), then the unranked.
            assert names == ["Wang Fang", "陈杰"], names
            assert [bar["value"] for bar in bars["data"]] == [by_code[world.unranked]["value"], by_code[world.ranked]["value"]]
            assert [bar["unranked"] for bar in bars["data"]] == [True, False]
            assert {tuple(w[:2]) for w in whiskers["data"]} == {
                (item["ci_low"], item["ci_high"]) for item in answer["items"]}
            texts = drawn_texts(page, "chart-people")
            assert f"{by_code[world.unranked]['value']:.1f} · 未排名" in texts, texts
            assert f"{by_code[world.ranked]['value']:.1f}" in texts, texts
            assert page.locator("#people-cut").is_hidden()  # two people: nobody left out
            page.locator("#card-people").screenshot(path=artifacts_dir / "dashboard-panel-people.png")
            assert not problems, problems

    def test_a_long_list_of_advisors_shows_the_first_30_and_says_so(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        """A region's advisors can run to hundreds; the list is answered in the browser (schemas.py KpiPeople)."""
        items = [{"staff_code": f"SA{i:02}", "name": f"Advisor {i:02}", "role": "service_advisor",
                  "dealer_code": world.dealer_a.code, "value": 90.0 - i, "n": 12, "ci_low": 85.0 - i, "ci_high": 95.0 - i,
                  "rank": i + 1} for i in range(33)]
        items += [{**items[0], "staff_code": "SA-NEW", "name": "Newcomer", "n": 2, "rank": None}]
        with opened_page(browser, LAPTOP) as (page, problems):
            page.route("**/v1/kpi/people?*", lambda route: route.fulfill(status=200, json={
                "kpi": "csi", "period": this_month(), "org_code": world.distributor.code, "role": "service_advisor",
                "min_n": 10, "items": list(reversed(items))}))
            open_board(page, network, world)
            names = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-people')).getOption()"
                                  ".yAxis[0].data")
            assert names == [f"Advisor {i:02}" for i in reversed(range(30))]  # by rank, the first at the top
            assert page.locator("#people-cut").inner_text() == "显示前 30 名（共 34 人），选择经销店可查看全部"
            assert not problems, problems

    def test_the_evaluation_table_shows_each_dealers_score_tier_and_rebate(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        schemes = world.distributor.client.get("/v1/evaluation-schemes").json()["items"]
        assert schemes[0]["code"] == SCHEME, [s["code"] for s in schemes]  # the panel shows the first one
        expected = {}
        for dealer in (world.dealer_a, world.dealer_b):
            csi = world.distributor.client.get("/v1/kpi/summary", params={
                "org_code": dealer.code, "period": this_month()}).json()["kpis"]["csi"]["value"]
            # One element, CSI worth 0 points at 0 and 100 at 100: the score is the CSI.
            tier, rebate = ("A", "2.0%") if csi >= 70 else ("B", "0.5%")
            expected[dealer.code] = [f"{csi:.1f}", tier, rebate, f"{csi:.1f}"]
        assert {row[1] for row in expected.values()} == {"A", "B"}, expected  # A answered high, B low
        ranks = {item["org_code"]: item["rank"] for item in world.distributor.client.get("/v1/evaluations", params={
            "scheme": SCHEME, "period": this_month(), "org_code": world.distributor.code, "level": "dealer"}).json()["items"]}
        with opened_page(browser, LAPTOP) as (page, problems):
            open_board(page, network, world, world.dealer_a.code)
            table = page.locator("#evaluation-table")
            assert table.locator("thead th").all_inner_texts() == ["排名", "经销店", "得分", "等级", "返利", "CS improvement"]
            for code, (score, tier, rebate, element) in expected.items():
                cells = table.locator(f"tbody tr[data-org='{code}'] > *").all_inner_texts()
                assert cells[0] == str(ranks[code]) and cells[2:] == [score, tier, rebate, element], cells
            assert table.locator("tr.is-selected").get_attribute("data-org") == world.dealer_a.code
            assert page.locator("#evaluation-caption").inner_text() == "未发布：按当前数据计算"
            page.locator("#card-evaluation").screenshot(path=artifacts_dir / "dashboard-panel-evaluation.png")
            assert not problems, problems

    def test_open_plans_show_their_progress_and_overdue_actions_and_closed_ones_are_left_out(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            open_board(page, network, world)
            listed = page.locator("#plans-list .plan").evaluate_all("items => items.map(i => i.dataset.plan)")
            assert world.open_plan in listed and world.closed_plan not in listed
            shown = page.locator(f".plan[data-plan='{world.open_plan}']")
            assert shown.locator(".plan__done").inner_text() == "1/3 项措施已完成"
            assert shown.locator("[role=progressbar]").get_attribute("aria-valuenow") == "33"
            assert shown.locator(".badge--miss").inner_text() == "1 项逾期"
            assert shown.locator(".chip").inner_text() == "执行"
            assert shown.locator(".plan__org").inner_text() == f"Test dealer {world.dealer_a.code}"  # seen from above
            page.locator("#card-plans").screenshot(path=artifacts_dir / "dashboard-panel-plans.png")
            page.click("#lang-switch")
            wait_rendered(page, world.distributor.code, this_month(), "en")
            assert shown.locator(".plan__done").inner_text() == "1 of 3 actions done"
            assert not problems, problems

    def test_a_panel_the_user_may_not_read_is_left_out_not_shown_as_an_error(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            problem = '{"type": "about:blank", "title": "Forbidden", "status": 403}'
            page.route("**/v1/kpi/people?*", lambda route: route.fulfill(
                status=403, body=problem, content_type="application/problem+json"))
            page.route("**/v1/improvement-plans?*", lambda route: route.fulfill(
                status=404, body=problem.replace("403", "404"), content_type="application/problem+json"))
            open_board(page, network, world, world.dealer_a.code)
            assert page.locator("#card-people").is_hidden()
            assert page.locator("#card-plans").is_hidden()
            assert page.locator("#card-evaluation").is_visible()
            assert page.locator("#banner").is_hidden()
            assert not problems, problems

    def test_a_re_checked_plan_shows_the_kpi_it_reached(self, network: Network, world: World, browser) -> None:  # noqa: ANN001
        """A result needs `recheck_period` to have ended with a KPI value: the plan list is answered in the
        browser, the shape of the plans API (services/kpi/schemas.py PlanRead)."""
        checked = {"id": str(uuid.uuid4()), "org_code": world.dealer_a.code, "kpi": "nps", "period": "2026-Q1",
                   "baseline": -12.0, "target": 10.0, "recheck_period": "2026-Q3", "cause": "x",
                   "source": {"kind": "kpi_gap", "ref": "nps"}, "status": "check", "actions": [
                       {"index": 0, "description": "a", "owner": world.ranked, "due": "2026-04-01", "complaint_id": None,
                        "done_at": "2026-03-30T08:00:00+00:00", "overdue": False}],
                   "result": {"value": 12.5, "met": True}, "created_at": "2026-03-01T08:00:00+00:00",
                   "updated_at": "2026-03-30T08:00:00+00:00"}
        with opened_page(browser, LAPTOP) as (page, problems):
            page.route("**/v1/improvement-plans?*", lambda route: route.fulfill(
                status=200, json={"items": [checked], "next_cursor": None}))
            open_board(page, network, world, world.dealer_a.code)
            shown = page.locator(f".plan[data-plan='{checked['id']}']")
            assert shown.locator(".plan__figures").inner_text() == \
                "2026年第1季度 基线 -12.0 → 目标 +10.0 · 复查 2026年第3季度: +12.5 达标"
            assert shown.locator(".plan__done").inner_text() == "1/1 项措施已完成"
            assert shown.locator(".chip").inner_text() == "检查"
            assert shown.locator(".plan__org").count() == 0  # the dealer's own plan
            assert not problems, problems

    def test_the_panels_fit_an_english_phone(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, PHONE) as (page, problems):
            log_in(page, network, world.username)
            wait_rendered(page, world.distributor.code)
            page.click("#lang-switch")
            page.select_option("#org-picker", world.dealer_a.code)
            show_month(page, world.dealer_a.code, this_month())
            wait_rendered(page, world.dealer_a.code, this_month(), "en")
            for card in ("#card-people", "#card-evaluation", "#card-plans"):
                assert page.locator(card).is_visible(), card
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.locator("#card-evaluation").screenshot(path=artifacts_dir / "dashboard-panel-phone-evaluation.png")
            page.locator("#card-plans").screenshot(path=artifacts_dir / "dashboard-panel-phone-plans.png")
            assert not problems, problems
