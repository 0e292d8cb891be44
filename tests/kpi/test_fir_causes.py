"""`GET /v1/kpi/fir-causes` (issue 18 item 2): the FIR failures of an org's fixes in a period by the
cause the repeat visit recorded, counted by hand on the fixture below."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.kpi.conftest import ORGS, as_, deliver, summary

A, B, C, D, E = (f"LFV3A23C7K71{n:05d}" for n in range(1, 6))


def t(month: int, day: int) -> datetime:
    return datetime(2071, month, day, 12, tzinfo=UTC)


async def visit(client: httpx.AsyncClient, dealer: str, vin: str, opened: datetime, cause: str | None = None, *,
                owner_verified: bool = True, type_: str = "repair") -> None:
    await deliver(client, "service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": str(uuid.uuid4()), "ro_number": "RO-R",
        "vin": vin, "customer_id": str(uuid.uuid4()), "visit_type": type_, "opened_at": opened.isoformat(),
        "closed_at": (opened + timedelta(hours=3)).isoformat(), "symptom_codes": ["S1"], "owner_verified": owner_verified,
        **({"repeat_of_ro": "RO-R", "repeat_cause": cause} if cause else {})})


async def causes(client: httpx.AsyncClient, org: str, caller: str = "OEM", period: str = "2071-05") -> httpx.Response:
    return await client.get("/v1/kpi/fir-causes", params={"org_code": org, "period": period}, headers=as_(caller))


async def test_fir_causes_by_hand(client: httpx.AsyncClient) -> None:
    await visit(client, "D1", A, t(5, 2))                      # F1
    await visit(client, "D1", A, t(5, 10), "diagnosis")        # R1 fails F1: diagnosis
    await visit(client, "D2", B, t(5, 3))                      # F2
    await visit(client, "D3", B, t(5, 12), "parts")            # R2 (the owner, another network) fails F2 first: parts
    await visit(client, "D2", B, t(5, 20), "workmanship")      # R2b fails F2 too (later) and D3's R2: workmanship
    await visit(client, "D1", C, t(5, 4))                      # F3
    await visit(client, "D1", C, t(5, 8))                      # R3 fails F3 naming no cause: unknown
    await visit(client, "D2", D, t(5, 5))                      # F4
    await visit(client, "D2", D, t(5, 9))                      # R4 fails F4, no cause ...
    await visit(client, "D2", D, t(5, 15), "product")          # ... R4b does: F4 and R4 both fail on product
    await visit(client, "D1", E, t(5, 6))                      # F5: its only repeat is not the owner's
    await visit(client, "D3", E, t(5, 9), "diagnosis", owner_verified=False)
    await visit(client, "D1", E, t(5, 7), type_="maintenance")  # not a fix, fails nothing
    # DN's fixes: F1 R1 F2 R2b F3 R3 F4 R4 R4b F5 = 10; failed: F1 F2 F3 F4 R4 = 5.
    answer = await causes(client, "DN")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["org_code"], body["period"], body["fixes"], body["failures"]) == ("DN", "2071-05", 10, 5)
    assert {i["cause"]: (i["count"], i["share"]) for i in body["items"]} == {
        "diagnosis": (1, 20.0), "parts": (1, 20.0), "workmanship": (0, 0.0), "product": (2, 40.0), "other": (0, 0.0),
        "unknown": (1, 20.0)}
    fir = (await summary(client, "DN", "2071-05"))["fir"]
    assert (fir["value"], fir["n"]) == (50.0, 10)  # the same fixes and failures as the fir KPI
    # D3's fixes: R2 (failed by R2b at D2: workmanship) and the unverified repeat (fixed).
    d3 = (await causes(client, "D3")).json()
    assert (d3["fixes"], d3["failures"]) == (2, 1)
    assert [(i["cause"], i["count"], i["share"]) for i in d3["items"] if i["count"]] == [("workmanship", 1, 100.0)]


async def test_a_period_without_failures_and_who_may_ask(client: httpx.AsyncClient) -> None:
    quiet = (await causes(client, "D1", caller="D1", period="2071-07")).json()
    assert (quiet["fixes"], quiet["failures"]) == (0, 0)
    assert [i["cause"] for i in quiet["items"]] == ["diagnosis", "parts", "workmanship", "product", "other", "unknown"]
    assert {i["share"] for i in quiet["items"]} == {None}
    assert (await causes(client, "D2", caller="D1")).status_code == 404  # a sibling's figures
    assert (await causes(client, "D1", caller="D1", period="May")).status_code == 422
    quarter = (await causes(client, "DN", period="2071-Q2")).json()
    assert (quarter["fixes"], quarter["failures"]) == (10, 5)
