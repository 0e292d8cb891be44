"""Events never wait on a stranger: with the KPI service stopped, or hung, the survey service gets
its events at once, and the KPI service gets each of its own exactly once when it is back.

What proves an event arrived is an invitation the survey service makes from events only: an
SSI invitation needs the customer's consent (from `customer.created`) and the delivery (from
`vehicle.delivered`, which the KPI service consumes too).
"""

import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from shared.types import vin_check_digit
from tests.support.suite import Network, Org, freeze_component, start_component, stop_component, thaw_component

pytestmark = pytest.mark.e2e

AT_ONCE_SECONDS = 1.0
VIN_CHARACTERS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def _vin() -> str:
    body = "".join(random.choice(VIN_CHARACTERS) for _ in range(17))
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


def _poll(fetch: Callable[[], list], timeout: float, interval: float = 0.05) -> tuple[list, float]:
    """What `fetch` returned once not empty (or at the timeout), and the seconds it took."""
    started = time.monotonic()
    while not (value := fetch()) and time.monotonic() - started < timeout:
        time.sleep(interval)
    return value, time.monotonic() - started


def _sell_and_service_a_car(dealer: Org) -> tuple[str, float]:
    """A customer with survey consent buys a car and brings it in for a repair; returns the
    customer's id and the seconds from the delivery's 201 to the SSI invitation it makes."""
    customer = dealer.client.post("/v1/customers", json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "钱芳",
        "phone": f"137{uuid.uuid4().int % 10**8:08d}", "consent": {"survey": True}})
    assert customer.status_code == 201, customer.text
    customer_id, vin, now = customer.json()["id"], _vin(), datetime.now(UTC).isoformat()
    vehicle = dealer.client.post("/v1/vehicles", json={"vin": vin, "model": "bZ3", "owner_customer_id": customer_id})
    assert vehicle.status_code == 201, vehicle.text
    delivered = dealer.client.post("/v1/deliveries", json={"vin": vin, "customer_id": customer_id,
                                                           "dealer_code": dealer.code, "delivered_at": now})
    assert delivered.status_code == 201, delivered.text
    invitations, seconds = _poll(lambda: dealer.client.get("/v1/survey-invitations", params={
        "customer_id": customer_id}).json()["items"], timeout=20.0)
    assert [i["kind"] for i in invitations] == ["ssi"]
    visit = dealer.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": vin, "customer_id": customer_id, "dealer_code": dealer.code,
        "visit_type": "repair", "opened_at": now, "closed_at": now, "symptom_codes": ["BRK-01"]})
    assert visit.status_code == 201, visit.text
    return customer_id, seconds


def _kpi_counts(dealer: Org) -> tuple[int, int]:
    """(cars in operation, repair visits) as the KPI service counts them for the dealer this month."""
    answer = dealer.client.get("/v1/kpi/summary", params={"period": f"{datetime.now(UTC):%Y-%m}"})
    if answer.status_code != 200:
        return -1, -1
    kpis = answer.json()["kpis"]
    return kpis["service_penetration"]["n"], kpis["fir"]["n"]


def _each_kpi_effect_once(dealer: Org, cars: int) -> None:
    counts, _ = _poll(lambda: [n] if (n := _kpi_counts(dealer)) == (cars, cars) else [], timeout=60.0, interval=0.5)
    assert counts == [(cars, cars)], _kpi_counts(dealer)
    time.sleep(2.0)  # a second delivery of anything, were there one, would land by now
    assert _kpi_counts(dealer) == (cars, cars)


@pytest.fixture(params=["network", "nats_network"], ids=["http", "nats"])
def network_of(request: pytest.FixtureRequest) -> Network:
    return request.getfixturevalue(request.param)


@pytest.fixture
def dealer(network_of: Network) -> Iterator[Org]:
    """A new dealer that has sold one car with every service up: the relays' connections (NATS's
    above all, opened on first use) are warm before anything is timed."""
    dealer = network_of.org("dealer", network_of.org("distributor"))
    _sell_and_service_a_car(dealer)
    yield dealer
    if network_of.suite.processes["kpi"].poll() is not None:  # the test failed while it was stopped
        start_component(network_of.suite, "kpi")


def test_with_the_kpi_service_stopped_the_survey_service_gets_its_events_at_once(network_of: Network, dealer: Org) -> None:
    stop_component(network_of.suite, "kpi")
    waits = [_sell_and_service_a_car(dealer)[1] for _ in range(3)]
    assert max(waits) < AT_ONCE_SECONDS, waits
    start_component(network_of.suite, "kpi")
    _each_kpi_effect_once(dealer, cars=4)


@pytest.mark.parametrize("network_of", ["network"], indirect=True, ids=["http"])
def test_with_the_kpi_service_hung_the_survey_service_gets_its_events_at_once(network_of: Network, dealer: Org) -> None:
    """A hung subscriber (SIGSTOP: connections accepted, never answered) holds each send to it
    until the HTTP timeout; nobody else's delivery waits for that."""
    freeze_component(network_of.suite, "kpi")
    try:
        waits = [_sell_and_service_a_car(dealer)[1] for _ in range(3)]
    finally:
        thaw_component(network_of.suite, "kpi")
    assert max(waits) < AT_ONCE_SECONDS, waits
    _each_kpi_effect_once(dealer, cars=4)
