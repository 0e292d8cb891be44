"""recall_completion (KPI.md): completed over affected VINs of the recalls as of the period's end,
pooled over the VINs' dealers, from recall.vin_assigned and recall.completed. In 2099: a figure
"as of the period's end" counts in every later period, and other tests ask periods up to 2091 for
having no data."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.kpi.conftest import ORGS, as_, deliver, summary

CODE = f"RC-{uuid.uuid4().hex[:6]}"


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def assigned(client: httpx.AsyncClient, dealer: str | None, vins: list[str], at: datetime) -> None:
    assert await deliver(client, "recall.vin_assigned", {
        "recall_code": CODE, "title": "Fuel pump relay", "remedy_op_code": "RC14A", "dealer_code": dealer,
        "org_path": ORGS[dealer or "OEM"]["path"], "vins": vins, "assigned_at": at.isoformat()}) == "applied"


async def completed(client: httpx.AsyncClient, dealer: str, vin: str, at: datetime) -> None:
    assert await deliver(client, "recall.completed", {
        "recall_code": CODE, "vin": vin, "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
        "ro_number": "RO-RC", "completed_at": at.isoformat()}) == "applied"


def figure(kpis: dict[str, Any]) -> tuple[float | None, int]:
    return kpis["recall_completion"]["value"], kpis["recall_completion"]["n"]


async def test_recall_completion_pooled_across_two_distributors(client: httpx.AsyncClient) -> None:
    a, b, c, d, e, f, g, h = (f"VIN{n}{uuid.uuid4().hex[:10].upper()}" for n in range(8))
    await assigned(client, "D1", [a, b], t(2099, 10, 1))
    await assigned(client, "D3", [c, d, e, h], t(2099, 10, 1))
    await assigned(client, None, [g], t(2099, 10, 1))  # no dealer known yet: the manufacturer's
    await assigned(client, "D2", [g], t(2099, 11, 20))  # sold since: D2 answers for it
    await assigned(client, "D1", [f], t(2099, 12, 2))  # affected only after November
    await completed(client, "D1", a, t(2099, 11, 10))
    await completed(client, "D1", b, t(2099, 12, 5))  # after November's end
    await completed(client, "D3", c, t(2099, 10, 15))
    await completed(client, "D3", d, t(2099, 10, 20))
    # By hand, as of 2099-12-01: North a, b, g with a done (1/3), South c, d, e, h with c, d done
    # (2/4); the manufacturer pools them: 3 of 7 = 42.9, not the mean of the two rates (41.7).
    assert figure(await summary(client, "OEM", "2099-11")) == (42.9, 7)
    assert figure(await summary(client, "DN", "2099-11")) == (33.3, 3)
    assert figure(await summary(client, "DS", "2099-11")) == (50.0, 4)
    assert figure(await summary(client, "D1", "2099-11")) == (50.0, 2)
    assert figure(await summary(client, "D2", "2099-11")) == (0.0, 1)
    assert figure(await summary(client, "OEM", "2099-10")) == (28.6, 7)  # c, d of 7
    assert figure(await summary(client, "OEM", "2099-12")) == (50.0, 8)  # f joins, b is done: 4 of 8
    assert figure(await summary(client, "OEM", "2099-09")) == (None, 0)
    ranking = (await client.get("/v1/kpi/rankings", params={"kpi": "recall_completion", "period": "2099-11",
                                                            "level": "dealer"}, headers=as_("OEM"))).json()
    assert {item["org_code"]: item["value"] for item in ranking["items"]} == {"D1": 50.0, "D2": 0.0, "D3": 50.0}
