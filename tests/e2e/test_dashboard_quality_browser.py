"""The dashboard's survey integrity and quality loop panels (issue 17 item 5, issue 18 item 6) in Debian's
chromium, against the real endpoints, the data seeded through the public APIs under a fresh distributor:

- integrity: only the `dealer_network` flag is on; dealer A's network is this machine's address, so its
  3 responses are flagged, one then reviewed invalid (3 responses, 2 flagged, 66.7%, 1 invalid);
  dealer B's 2 responses raise nothing (0.0%): A is listed first;
- a quality signal: 3 product-quality complaints on one model and symptom, 2 at A and 1 at B;
- recall: A's 2 delivered cars and B's 1 recalled, one of A's fixed by a visit with the remedy op code:
  A 1 of 2 (50.0%), B 0 of 1 (0.0%), the distributor pooled 1 of 3 (33.3%); a second recall of one of
  B's cars, done: the open recalls list the first only, whose row shows its progress per dealer;
- one open technical request of A's, answer due in the future (the overdue mark is tested by
  answering the list in the browser with a due time in the past).

A dealer's user gets 403 from /v1/survey-integrity: the panel is left out.
Screenshots go to test-artifacts/dashboard-quality-*.png.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.types import vin_check_digit
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (pytestmark: the same skips)
    LAPTOP,
    PASSWORD,
    PHONE,
    last_complete_month,
    log_in,
    opened_page,
    pytestmark,
    show_month,
    this_month,
    wait_rendered,
)
from tests.e2e.test_survey_integrity_gateway import answered
from tests.e2e.test_survey_page import customer, published_survey
from tests.support.polling import eventually
from tests.support.staff import on_staff
from tests.support.suite import INTEGRITY_FLAGS, Network, Org

SCOPES = ["kpi:read", "surveys:read", "complaints:read"]
REMEDY, DONE_REMEDY = "RCQ1A", "RCQ2B"


@dataclass
class World:
    distributor: Org
    dealer_a: Org
    dealer_b: Org
    model: str
    recall: str
    done_recall: str
    request_number: str
    viewer: str
    dealer_viewer: str


def new_vin() -> str:
    vin = "LVGBE40K" + "0" + uuid.uuid4().hex[:8].upper()
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def delivered_car(dealer: Org) -> tuple[str, str]:
    """A car sold by `dealer` (so it is the car's responsible dealer): (vin, owner's customer id)."""
    someone = customer(dealer, dealer.code)
    vin = new_vin()
    for path, body in (
        ("/v1/vehicles", {"vin": vin, "model": "Camry", "model_year": 2025, "plate": "京A12345",
                          "owner_customer_id": someone["id"]}),
        ("/v1/deliveries", {"vin": vin, "customer_id": someone["id"], "dealer_code": dealer.code,
                            "delivered_at": (datetime.now(UTC) - timedelta(days=100)).isoformat(),
                            "sales_consultant": on_staff(dealer, "Li", "sales_consultant")}),
    ):
        created = dealer.client.post(path, json=body)
        assert created.status_code == 201, f"{path}: {created.text}"
    return vin, someone["id"]


def viewer(network: Network, org: Org) -> str:
    username = f"dash-quality-{uuid.uuid4().hex[:8]}"
    user = network.manufacturer.client.post("/v1/users", json={
        "username": username, "password": PASSWORD, "org_code": org.code, "roles": ["viewer"], "scopes": SCOPES})
    assert user.status_code == 201, user.text
    return username


@pytest.fixture(scope="module")
def world(network: Network) -> World:
    distributor = network.org("distributor")
    rules = distributor.client.put("/v1/survey-integrity/rules", json={
        "org_code": distributor.code, "flags": {flag: {"on": flag == "dealer_network"} for flag in INTEGRITY_FLAGS}})
    assert rules.status_code == 200, rules.text
    dealer_a, dealer_b = network.org("dealer", distributor), network.org("dealer", distributor)
    networks = distributor.client.put(f"/v1/orgs/{dealer_a.code}/networks", json={"cidrs": ["127.0.0.1/32"]})
    assert networks.status_code == 200, networks.text

    survey_a = published_survey(dealer_a, {"template": "csi"})
    survey_b = published_survey(dealer_b, {"template": "csi"})
    flagged = [answered(network, dealer_a, survey_a) for _ in range(3)]
    for _ in range(2):
        answered(network, dealer_b, survey_b)
    review = distributor.client.post(f"/v1/survey-responses/{flagged[0]['id']}/review", json={"decision": "invalid"})
    assert review.status_code == 200, review.text

    model = f"Q-{uuid.uuid4().hex[:6].upper()}"
    for dealer in (dealer_a, dealer_a, dealer_b):
        opened = dealer.client.post("/v1/complaints", json={
            "dealer_code": dealer.code, "channel": "hotline", "category": "product_quality", "priority": "P2",
            "description": "Humming from the front axle above 80 km/h", "vehicle_model": model,
            "symptom_codes": ["NVH-02"]})
        assert opened.status_code == 201, opened.text

    cars_a = [delivered_car(dealer_a) for _ in range(2)]
    car_b = delivered_car(dealer_b)
    recall = f"RC-E2E-{uuid.uuid4().hex[:6].upper()}"
    created = network.manufacturer.client.post("/v1/recalls", json={
        "code": recall, "title": "Fuel pump relay may stick", "remedy_op_code": REMEDY,
        "vins": [vin for vin, _ in cars_a] + [car_b[0]]})
    assert created.status_code == 201, created.text
    now = datetime.now(UTC)
    visit = dealer_a.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": cars_a[0][0], "customer_id": cars_a[0][1],
        "dealer_code": dealer_a.code, "visit_type": "recall", "opened_at": (now - timedelta(hours=2)).isoformat(),
        "closed_at": (now - timedelta(minutes=5)).isoformat(), "op_codes": [REMEDY], "mileage_km": 20000,
        "amount_minor": 0})
    assert visit.status_code == 201, visit.text
    done_car = delivered_car(dealer_b)
    done_recall = f"RC-E2E-{uuid.uuid4().hex[:6].upper()}"
    created = network.manufacturer.client.post("/v1/recalls", json={
        "code": done_recall, "title": "Seat belt buckle", "remedy_op_code": DONE_REMEDY, "vins": [done_car[0]]})
    assert created.status_code == 201, created.text
    visit = dealer_b.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": done_car[0], "customer_id": done_car[1],
        "dealer_code": dealer_b.code, "visit_type": "recall", "opened_at": (now - timedelta(hours=2)).isoformat(),
        "closed_at": (now - timedelta(minutes=5)).isoformat(), "op_codes": [DONE_REMEDY], "mileage_km": 20000,
        "amount_minor": 0})
    assert visit.status_code == 201, visit.text

    request = dealer_a.client.post("/v1/tech-requests", json={
        "dealer_code": dealer_a.code, "vin": cars_a[1][0], "symptom_codes": ["NVH-02"],
        "description": "Axle hum stays after the bearing change", "priority": "P2"})
    assert request.status_code == 201, request.text

    def seeded() -> bool:
        signals = distributor.client.get("/v1/quality-signals", params={"limit": 500}).json()["items"]
        recalls = {r["code"]: (r["affected"], r["completed"])
                   for r in distributor.client.get("/v1/recalls", params={"limit": 500}).json()["items"]}
        return (any(s["vehicle_model"] == model for s in signals)
                and recalls == {recall: (3, 1), done_recall: (1, 1)})

    eventually(seeded, "the signal and the recalls' progress", timeout=90)
    return World(distributor, dealer_a, dealer_b, model, recall, done_recall, request.json()["number"],
                 viewer(network, distributor), viewer(network, dealer_a))


def open_board(page, network: Network, world: World) -> None:  # noqa: ANN001
    log_in(page, network, world.viewer)
    wait_rendered(page, world.distributor.code, last_complete_month())
    show_month(page, world.distributor.code, this_month())


def cells(table, org: str) -> list[str]:  # noqa: ANN001
    return table.locator(f"tbody tr[data-org='{org}'] > *").all_inner_texts()


def name(org: Org) -> str:
    return f"Test {'distributor' if org.code.startswith('DIS') else 'dealer'} {org.code}"


class TestQualityPanels:
    def test_the_integrity_table_lists_the_most_flagged_dealer_first(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        report = world.distributor.client.get("/v1/survey-integrity", params={
            "org_code": world.distributor.code, "period": this_month()}).json()
        by_dealer = {d["dealer_code"]: d for d in report["dealers"]}
        assert (by_dealer[world.dealer_a.code]["responses"], by_dealer[world.dealer_a.code]["flagged"]) == (3, 2), report
        with opened_page(browser, LAPTOP) as (page, problems):
            open_board(page, network, world)
            table = page.locator("#integrity-table")
            assert page.locator("#card-integrity").is_visible()
            assert table.locator("thead th").all_inner_texts() == ["经销店", "可疑占比", "可疑", "回答", "无效", "触发规则"]
            assert table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.org)") == [
                world.dealer_a.code, world.dealer_b.code]
            assert cells(table, world.dealer_a.code) == [name(world.dealer_a), "66.7%", "2", "3", "1", "经销店网络 3"]
            assert cells(table, world.dealer_b.code) == [name(world.dealer_b), "0.0%", "0", "2", "0", "—"]
            page.locator("#card-integrity").screenshot(path=artifacts_dir / "dashboard-quality-integrity.png")
            # The report is by month: a quarter leaves the panel out.
            page.select_option("#period-kind", "quarter")
            wait_rendered(page, world.distributor.code)
            page.wait_for_function("() => document.getElementById('card-integrity').hidden")
            assert not problems, problems

    def test_the_quality_loop_shows_the_signal_the_recall_and_the_open_request(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, LAPTOP) as (page, problems):
            open_board(page, network, world)
            assert page.locator("#card-quality").is_visible()
            signal = page.locator(".signal", has_text=world.model)
            assert signal.locator(".signal__what").inner_text() == f"{world.model} · NVH-02"
            assert signal.locator(".badge").inner_text() == "3 例"
            assert signal.locator(".source").all_inner_texts() == ["投诉 3"]
            dealers = sorted((world.dealer_a, world.dealer_b), key=lambda org: org.code)  # listed by code
            assert signal.locator(".signal__dealers").inner_text() == "、".join(name(org) for org in dealers)

            requests = page.locator("#requests-table")
            row = requests.locator("tbody tr", has_text=world.request_number)
            texts = row.locator("> *").all_inner_texts()
            assert texts[:3] == [world.request_number, name(world.dealer_a), "P2"], texts
            assert "已逾期" not in texts[3] and row.get_attribute("class") in (None, "")

            recalls = page.locator("#recalls-table")
            assert recalls.locator("thead th").all_inner_texts() == ["召回", "完成率", "已完成", "涉及车辆"]
            assert recalls.locator("tbody tr").count() == 1  # the done recall is not open
            assert recalls.locator("tbody tr > *").all_inner_texts() == [
                f"{world.recall}\nFuel pump relay may stick", "33.3%", "1", "3"]
            assert page.locator("#recall-table").is_hidden()
            recalls.locator(f"tr[data-recall='{world.recall}'] button").click()
            recall = page.locator("#recall-table")
            recall.wait_for(state="visible")
            assert page.locator("#recall-title").inner_text() == f"{world.recall} 各经销店进度"
            assert recalls.locator(f"tr[data-recall='{world.recall}']").get_attribute("class") == "is-selected"
            assert recall.locator("thead th").all_inner_texts() == ["经销店", "完成率", "已完成", "涉及车辆"]
            assert cells(recall, world.distributor.code) == [name(world.distributor), "33.3%", "1", "3"]
            assert cells(recall, world.dealer_a.code) == [name(world.dealer_a), "50.0%", "1", "2"]
            assert cells(recall, world.dealer_b.code) == [name(world.dealer_b), "0.0%", "0", "1"]
            page.locator("#card-quality").screenshot(path=artifacts_dir / "dashboard-quality-loop.png")
            assert not problems, problems

    def test_a_request_whose_answer_is_late_is_marked_overdue(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        """No API makes an answer late on demand: the real list is answered with its due time moved back."""
        def late(route) -> None:  # noqa: ANN001
            reply = route.fetch().json()
            for item in reply["items"]:
                item["answer_due"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
            route.fulfill(status=200, json=reply)

        with opened_page(browser, LAPTOP) as (page, problems):
            page.route("**/v1/tech-requests?*", late)
            open_board(page, network, world)
            row = page.locator("#requests-table tbody tr", has_text=world.request_number)
            assert row.get_attribute("class") == "is-overdue"
            assert row.locator(".badge--miss").inner_text() == "已逾期"
            assert not problems, problems

    def test_a_dealers_user_does_not_get_the_integrity_panel(
        self, network: Network, world: World, browser,  # noqa: ANN001
    ) -> None:
        forbidden = world.dealer_a.client.get("/v1/survey-integrity", params={
            "org_code": world.dealer_a.code, "period": this_month()})
        assert forbidden.status_code == 403, forbidden.text
        with opened_page(browser, LAPTOP) as (page, problems):
            log_in(page, network, world.dealer_viewer)
            wait_rendered(page, world.dealer_a.code, last_complete_month())
            show_month(page, world.dealer_a.code, this_month())
            assert page.locator("#card-integrity").is_hidden()
            assert page.locator("#card-quality").is_visible()  # its own technical request
            assert page.locator("#requests-table tbody tr", has_text=world.request_number).count() == 1
            # Its own part of the recall: 1 of its 2 cars.
            assert page.locator("#recalls-table tbody tr > *").all_inner_texts() == [
                f"{world.recall}\nFuel pump relay may stick", "50.0%", "1", "2"]
            assert page.locator("#banner").is_hidden()
            assert not problems, problems

    def test_the_panels_fit_an_english_phone(
        self, network: Network, world: World, browser, artifacts_dir: Path,  # noqa: ANN001
    ) -> None:
        with opened_page(browser, PHONE) as (page, problems):
            log_in(page, network, world.viewer)
            wait_rendered(page, world.distributor.code)
            page.click("#lang-switch")
            show_month(page, world.distributor.code, this_month())
            wait_rendered(page, world.distributor.code, this_month(), "en")
            page.locator(f"#recalls-table tr[data-recall='{world.recall}'] button").click()
            page.locator("#recall-table").wait_for(state="visible")
            assert page.locator("#recall-title").inner_text() == f"{world.recall} by dealer"
            for card in ("#card-integrity", "#card-quality"):
                assert page.locator(card).is_visible(), card
            assert page.locator("#integrity-table thead th").first.inner_text() == "Dealer"
            assert page.locator(".signal", has_text=world.model).locator(".badge").inner_text() == "3 cases"
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.locator("#card-integrity").screenshot(path=artifacts_dir / "dashboard-quality-phone-integrity.png")
            page.locator("#card-quality").screenshot(path=artifacts_dir / "dashboard-quality-phone-loop.png")
            assert not problems, problems
