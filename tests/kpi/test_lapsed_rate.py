"""lapsed_rate (KPI.md, issue 16): of the customers with a serviced vehicle (a lifecycle other than
prospect) at the period's end, the share lapsed; each customer as their latest `lifecycle.changed`
before the end left them. Hand-computed for June 2007 (end: 1 July 2007 00:00 UTC):

- D1: c1 lapsed (1 March), c2 at_risk (lapsed only on 15 July), c3 active (30 June 23:59),
  c4 won_back (lapsed in January, back on 10 June): 1 of 4, 25%.
- D2: c5 lapsed; c6 became active at 1 July 00:00, not before the end: 1 of 1, 100%.
- D3: c7 lapsed, c8 active, c9 still a prospect (not counted): 1 of 2, 50%.
- DN 2 of 5, 40%; OEM 3 of 7, 42.857...%.
"""

import uuid
from datetime import UTC, datetime

import pytest

from tests.kpi.conftest import ORGS, as_, deliver, summary

pytestmark = pytest.mark.asyncio


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def change(client, dealer: str, customer: str, previous: str, state: str, at: datetime, event_id: str | None = None) -> None:
    await deliver(client, "lifecycle.changed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "customer_id": customer, "lifecycle": state,
        "previous": previous, "since": at.isoformat(), "changed_at": at.isoformat()}, event_id)


@pytest.fixture(scope="module")
async def lifecycles(client) -> None:
    c = {name: str(uuid.uuid4()) for name in ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9")}
    history = [
        ("D1", "c1", [("prospect", "active", t(2006, 1, 5)), ("active", "lapsed", t(2007, 3, 1))]),
        ("D1", "c2", [("prospect", "active", t(2006, 2, 1)), ("active", "at_risk", t(2007, 5, 1)),
                      ("at_risk", "lapsed", t(2007, 7, 15))]),
        ("D1", "c3", [("prospect", "active", t(2007, 6, 30, 23, 59))]),
        ("D1", "c4", [("active", "lapsed", t(2007, 1, 1)), ("lapsed", "won_back", t(2007, 6, 10))]),
        ("D2", "c5", [("prospect", "active", t(2006, 1, 1)), ("active", "lapsed", t(2007, 2, 1))]),
        ("D2", "c6", [("prospect", "active", t(2007, 7, 1))]),
        ("D3", "c7", [("at_risk", "lapsed", t(2007, 5, 1))]),
        ("D3", "c8", [("prospect", "active", t(2007, 4, 1))]),
        ("D3", "c9", [("active", "prospect", t(2007, 4, 1))]),
    ]
    # Delivered out of order, the lapse of c1 twice (a redelivery: the same event id).
    for dealer, name, changes in history:
        for previous, state, at in reversed(changes):
            await change(client, dealer, c[name], previous, state, at)
    await change(client, "D1", c["c1"], "active", "lapsed", t(2007, 3, 1), event_id="lapse-c1")
    await change(client, "D1", c["c1"], "active", "lapsed", t(2007, 3, 1), event_id="lapse-c1")


class TestLapsedRate:
    async def test_summary_at_every_level(self, client, lifecycles) -> None:
        expected = {"D1": (25.0, 4), "D2": (100.0, 1), "D3": (50.0, 2), "DN": (40.0, 5), "OEM": (42.9, 7)}  # 3 of 7, shown to one decimal
        for org, (value, n) in expected.items():
            kpi = (await summary(client, org, "2007-06"))["lapsed_rate"]
            assert kpi["n"] == n and kpi["value"] == pytest.approx(value), org

    async def test_an_earlier_period_sees_the_states_of_its_end(self, client, lifecycles) -> None:
        # End of February 2007: c1 active, c2 active, c4 lapsed (D1: 1 of 3); c5 lapsed since 1 Feb.
        assert (await summary(client, "D1", "2007-02"))["lapsed_rate"]["value"] == 33.3
        assert (await summary(client, "D2", "2007-02"))["lapsed_rate"]["value"] == 100.0

    async def test_lower_is_better_in_the_ranking(self, client, lifecycles) -> None:
        ranking = (await client.get("/v1/kpi/rankings", params={"kpi": "lapsed_rate", "period": "2007-06",
                                                                "level": "dealer"}, headers=as_("OEM"))).json()
        assert [(i["org_code"], i["n"]) for i in ranking["items"]] == [("D1", 4), ("D3", 2), ("D2", 1)]
