"""The dashboard's lifecycle and value panel and its latest campaign panel (issue 16 item 6) in Debian's
chromium, against the real endpoints, the data seeded through the public APIs under a fresh distributor D
(dealers A and B):

- customers with closed visits at known ages: a prospect (no visit), two active (30 and 45 days ago, at A
  and B), one at risk (300 days), one lapsed (400 days, at B), one won back (500 days, then 20 days ago);
  a seventh, active at A, does not share with the manufacturer: D's funnel leaves it out;
- a campaign of D's to all its customers, launched now (its 60-day window still open), with one visit of
  a sent customer after the launch: the sent group's share, the holdout's (0%) and the uplift follow from
  the draw, computed here with the service's own rule (services.customer.campaigns.in_holdout).

A visit's service_visit.closed event brings its customer's lifecycle up to date (services/customer/standing.py,
with_visit_standing); the value segments are ranked by the daily run only, which runs when the service
starts: the test restarts the customer service once the events are in, so its customers with a visit
in 24 months get a segment (the rules are tests/customer/test_lifecycle.py's; here the panel must show
what GET /v1/retention answers) and the one without stays unscored. The test waits for both with
polling.eventually. A user without customers:read gets 403 from both reads: the cards are
left out. Screenshots go to test-artifacts/dashboard-retention-*.png.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.customer.campaigns import in_holdout
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (pytestmark: the same skips)
    LAPTOP,
    PASSWORD,
    PHONE,
    drawn_texts,
    last_complete_month,
    log_in,
    opened_page,
    pytestmark,
    wait_rendered,
)
from tests.e2e.test_survey_flow import vin
from tests.support.polling import eventually
from tests.support.suite import Network, Org, start_component, stop_component

SCOPES = ["kpi:read", "customers:read"]
HOLDOUT_PCT = 50
# name: (dealer "a" or "b", shares with the manufacturer, days since each closed visit, oldest first)
CUSTOMERS = {
    "prospect": ("a", True, []),
    "active_a": ("a", True, [30]),
    "active_b": ("b", True, [45]),
    "at_risk": ("a", True, [300]),
    "lapsed": ("b", True, [400]),
    "won_back": ("a", True, [500, 20]),
    "private": ("a", False, [30]),
}
# Where each sharing customer stands once seeded, and after one more visit now (services/customer/lifecycle.py).
STANDS = {"prospect": "prospect", "active_a": "active", "active_b": "active", "at_risk": "at_risk", "lapsed": "lapsed",
          "won_back": "won_back"}
AFTER_A_VISIT = {"prospect": "active", "active_a": "active", "active_b": "active", "at_risk": "active",
                 "lapsed": "won_back", "won_back": "won_back"}
STATES = ("prospect", "active", "at_risk", "lapsed", "won_back")
SEGMENTS = ("champion", "loyal", "new", "regular", "at_risk", "hibernating")  # as the panel lists them
ZH_STATES = {"prospect": "潜在客户", "active": "活跃", "at_risk": "流失风险", "lapsed": "已流失", "won_back": "已赢回"}


@dataclass
class World:
    distributor: Org
    dealer_b: Org
    lifecycle: dict[str, int]
    campaign: str
    sent: int
    holdout: int
    viewer: str
    blind_viewer: str


def seeded_customer(dealer: Org, name: str, shares: bool, ages: list[int]) -> tuple[str, str]:
    """A customer accepting marketing, with a car and closed visits `ages` days ago: (id, VIN)."""
    made = dealer.client.post("/v1/customers", json={
        "external_id": f"RET-{uuid.uuid4().hex[:10]}", "dealer_code": dealer.code, "name": name,
        "phone": f"+86139{uuid.uuid4().int % 10**8:08d}",
        "consent": {"survey": False, "marketing": True, "share_with_manufacturer": shares}})
    assert made.status_code == 201, made.text
    person = made.json()["id"]
    car = vin()
    owned = dealer.client.post("/v1/vehicles", json={"vin": car, "model": "Lumen S", "model_year": 2024,
                                                     "owner_customer_id": person})
    assert owned.status_code == 201, owned.text
    now = datetime.now(UTC)
    for age in ages:
        visited(dealer, person, car, now - timedelta(days=age))
    return person, car


def visited(dealer: Org, person: str, car: str, at: datetime) -> None:
    visit = dealer.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:10]}", "vin": car, "customer_id": person, "dealer_code": dealer.code,
        "visit_type": "maintenance", "opened_at": at.isoformat(), "closed_at": at.isoformat(), "op_codes": ["OIL01"],
        "mileage_km": 10000, "amount_minor": 50000})
    assert visit.status_code == 201, visit.text


def viewer(network: Network, org: Org, scopes: list[str]) -> str:
    username = f"dash-retention-{uuid.uuid4().hex[:8]}"
    user = network.manufacturer.client.post("/v1/users", json={
        "username": username, "password": PASSWORD, "org_code": org.code, "roles": ["viewer"], "scopes": scopes})
    assert user.status_code == 201, user.text
    return username


def split_draft(distributor: Org, members: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """A draft to all of D's customers whose draw (known from its id before the launch) puts someone in
    each group; a draw that leaves a group empty is left a draft (the panel shows launched ones only)."""
    for _ in range(20):
        draft = distributor.client.post("/v1/campaigns", json={
            "org_code": distributor.code, "name": "春季保养关怀", "kind": "care", "channel": "sms",
            "message": {"zh-CN": "春季保养八折", "en": "20% off the spring service"}, "holdout_pct": HOLDOUT_PCT})
        assert draft.status_code == 201, draft.text
        campaign = draft.json()["id"]
        held = [m for m, ident in members.items() if in_holdout(uuid.UUID(campaign), uuid.UUID(ident), HOLDOUT_PCT)]
        sent = [m for m in members if m not in held]
        if sent and held:
            return campaign, sent, held
    raise AssertionError("twenty draws in a row left a group empty")


@pytest.fixture(scope="module")
def world(network: Network) -> World:
    distributor = network.org("distributor")
    dealers = {"a": network.org("dealer", distributor), "b": network.org("dealer", distributor)}
    seeded = {name: seeded_customer(dealers[dealer], name, shares, ages)
              for name, (dealer, shares, ages) in CUSTOMERS.items()}
    sharing = {name: seeded[name][0] for name in STANDS}
    campaign, sent, held = split_draft(distributor, sharing)
    launched = distributor.client.post(f"/v1/campaigns/{campaign}/launch")
    assert launched.status_code == 200, launched.text
    assert launched.json()["audience_size"] == len(sharing)

    # One sent customer comes back after the launch (the visit opens now, after launched_at).
    returning = sent[-1]
    visited(dealers[CUSTOMERS[returning][0]], *seeded[returning], datetime.now(UTC))

    stands = STANDS | {returning: AFTER_A_VISIT[returning]}
    lifecycle = {state: sum(1 for s in stands.values() if s == state) for state in STATES}

    def settled() -> bool:
        figures = distributor.client.get("/v1/retention").json()
        results = distributor.client.get(f"/v1/campaigns/{campaign}/results").json()
        return figures["lifecycle"] == lifecycle and results["visited"] == {"sent": 1, "holdout": 0}

    eventually(settled, "the visits' lifecycle changes and the campaign's visit", timeout=90)
    # The daily run ranks the segments when the service starts (services/customer/app.py, _jobs).
    stop_component(network.suite, "customer")
    start_component(network.suite, "customer")
    never_visited = sum(1 for state in stands.values() if state == "prospect")
    eventually(lambda: distributor.client.get("/v1/retention").json()["unscored"] == never_visited,
               "the daily run's segments", timeout=90)
    return World(distributor, dealers["b"], lifecycle, campaign, len(sent), len(held), viewer(network, distributor, SCOPES),
                 viewer(network, distributor, ["kpi:read"]))


def share(visited_count: int, total: int) -> str:
    return f"{100 * visited_count / total:.1f}%"


class TestRetentionPanels:
    def test_the_funnel_and_segments_show_the_distributors_sharing_customers(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, world.viewer)
            wait_rendered(page, world.distributor.code, last_complete_month())
            assert page.locator("#card-lifecycle").is_visible()
            assert page.locator("#customers-total").inner_text() == "共 6 位客户"  # the non-sharing one left out
            texts = drawn_texts(page, "chart-lifecycle")
            for state in STATES:
                assert f"{ZH_STATES[state]}  {world.lifecycle[state]}" in texts, (state, texts)
            segments = page.locator("#segments-list li")
            assert segments.evaluate_all("items => items.map(i => i.dataset.segment)") == list(SEGMENTS)
            figures = world.distributor.client.get("/v1/retention").json()
            counts = page.locator("#segments-list .segment__count").all_inner_texts()
            assert counts == [str(figures["segments"][segment]) for segment in SEGMENTS]
            assert sum(map(int, counts)) == 6 - world.lifecycle["prospect"] > 0
            unscored = page.locator("#segments-unscored")
            if world.lifecycle["prospect"]:
                assert unscored.inner_text().startswith(f"未评分 {world.lifecycle['prospect']} 位")
            else:
                assert unscored.is_hidden()
            page.locator("#card-lifecycle").screenshot(path=artifacts_dir / "dashboard-retention-lifecycle.png")
            assert not problems, problems

    def test_the_campaign_shows_sent_against_holdout_and_its_open_window(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        results = world.distributor.client.get(f"/v1/campaigns/{world.campaign}/results").json()
        assert (results["sent"], results["holdout"], results["window_closed"]) == (world.sent, world.holdout, False)
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, world.viewer)
            wait_rendered(page, world.distributor.code, last_complete_month())
            card = page.locator("#card-campaign")
            assert card.is_visible() and page.locator("#campaign-none").is_hidden()
            assert page.locator("#campaign-name").inner_text() == "春季保养关怀"
            assert page.locator("#campaign-launched").inner_text().endswith("发起")
            sent, held = page.locator("#campaign-sent"), page.locator("#campaign-holdout")
            assert sent.locator(".figure__value").inner_text() == share(1, world.sent)
            assert sent.locator(".figure__detail").inner_text() == f"1/{world.sent} 位"
            assert held.locator(".figure__value").inner_text() == "0.0%"
            assert held.locator(".figure__detail").inner_text() == f"0/{world.holdout} 位"
            assert page.locator("#campaign-uplift").inner_text() == f"+{100 / world.sent:.1f} 个百分点"
            assert page.locator("#campaign-uplift").get_attribute("class") == "is-up"
            window = page.locator("#campaign-window")
            assert window.inner_text().startswith("观察期未结束") and window.get_attribute("class") == "card__note is-open"
            card.screenshot(path=artifacts_dir / "dashboard-retention-campaign.png")
            assert not problems, problems

    def test_a_dealer_chosen_in_the_picker_shows_its_own_subtree(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        """Dealer B: active_b and lapsed (or what the returning visit made of them); D's campaign is not B's."""
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, world.viewer)
            wait_rendered(page, world.distributor.code, last_complete_month())
            page.select_option("#org-picker", world.dealer_b.code)
            wait_rendered(page, world.dealer_b.code)
            assert page.locator("#customers-total").inner_text() == "共 2 位客户"
            assert page.locator("#card-campaign").is_visible()
            assert page.locator("#campaign-none").is_visible() and page.locator("#campaign-result").is_hidden()
            assert not problems, problems

    def test_a_user_without_customers_read_gets_neither_card(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, world.blind_viewer)
            wait_rendered(page, world.distributor.code, last_complete_month())
            assert page.locator("#card-lifecycle").is_hidden() and page.locator("#card-campaign").is_hidden()
            assert page.locator("#banner").is_hidden()
            assert not problems, problems

    def test_the_cards_fit_an_english_phone(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, PHONE) as (page, problems):
            log_in(page, network, world.viewer)
            wait_rendered(page, world.distributor.code)
            page.click("#lang-switch")
            wait_rendered(page, world.distributor.code, None, "en")
            for card in ("#card-lifecycle", "#card-campaign"):
                assert page.locator(card).is_visible(), card
            assert page.locator("#customers-total").inner_text() == "6 customers"
            assert f"Active  {world.lifecycle['active']}" in drawn_texts(page, "chart-lifecycle")
            assert page.locator("#campaign-window").inner_text().startswith("Window still open")
            assert page.locator("#campaign-uplift").inner_text() == f"+{100 / world.sent:.1f} pts"
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.locator("#card-lifecycle").screenshot(path=artifacts_dir / "dashboard-retention-phone-lifecycle.png")
            page.locator("#card-campaign").screenshot(path=artifacts_dir / "dashboard-retention-phone-campaign.png")
            assert not problems, problems
