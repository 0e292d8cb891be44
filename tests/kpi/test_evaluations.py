"""Dealer evaluation (KPI.md): schemes, evaluations against hand-computed figures, publishing.

The scheme: CS (weight 3) = csi (floor 60, ceiling 100) and nps (0 -> 100), equal weights;
QUAL (weight 1) = complaint_rate, lower is better (floor 10, ceiling 0); PARTS (weight 2) =
appointment_show_rate, with no data anywhere. Tiers: Gold from 75 (2%), Silver from 50 (1%).

2081-Q2, by hand:
- D1: csi (90 + 80) / 2 = 85 -> 62.5 points; nps (100 + 0) / 2 = 50 -> 50; CS 56.25. 20 visits,
  1 complaint: rate 5 -> 100 x (5 - 10) / (0 - 10) = 50; QUAL 50. PARTS none.
  Total (3 x 56.25 + 1 x 50) / 4 = 54.6875 -> Silver.
- D2: csi 100, 100 -> 100; nps (100 + 0) / 2 = 50; CS 75. No visits: QUAL none.
  Total 75 (CS alone) = Gold's min_score exactly: Gold.
- D3: csi 70 -> 25; nps 0 -> 0; CS 12.5. 4 visits, 1 complaint: rate 25, clamped to 0 points.
  Total (37.5 + 0) / 4 = 9.375: no tier.
- DN pools D1 and D2: csi 92.5 -> 81.25; nps 50; CS 65.625; rate 5 -> 50. Total 61.71875: Silver.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.kpi.evaluation import Scored, Tier, points, ranked
from services.kpi.models import TABLES
from services.kpi.orgs import CallerSubtrees
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.kpi.conftest import ORGS, SECRET, as_, deliver, respond, visit

WRITE = frozenset({"kpi:read", "kpi:write"})
SCHEME = {
    "title": "Dealer evaluation",
    "elements": [
        {"code": "CS", "title": "CS improvement", "weight": 3, "kpis": [
            {"kpi": "csi", "weight": 1, "floor": 60, "ceiling": 100},
            {"kpi": "nps", "weight": 1, "floor": 0, "ceiling": 100}]},
        {"code": "QUAL", "title": "Technical service and quality", "weight": 1, "kpis": [
            {"kpi": "complaint_rate", "weight": 1, "floor": 10, "ceiling": 0}]},
        {"code": "PARTS", "title": "Parts logistics", "weight": 2, "kpis": [
            {"kpi": "appointment_show_rate", "weight": 1, "floor": 50, "ceiling": 100}]},
    ],
    "tiers": [{"name": "Gold", "min_score": 75, "rebate_pct": 2.0}, {"name": "Silver", "min_score": 50, "rebate_pct": 1.0}],
}


SEEDED: set[int] = set()


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def _complaint(client: httpx.AsyncClient, dealer: str, opened: datetime) -> None:
    await deliver(client, "complaint.opened", {
        "complaint_id": str(uuid.uuid4()), "number": "CMP-1", "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
        "handling_org_code": dealer, "escalation_level": 0, "channel": "hotline", "category": "repair_quality",
        "priority": "P3", "status": "new", "is_open": True, "opened_at": opened.isoformat(), "first_responded_at": None,
        "resolved_at": None, "first_response_due": (opened + timedelta(hours=4)).isoformat(),
        "resolution_due": (opened + timedelta(hours=48)).isoformat()})


async def _seed(client: httpx.AsyncClient, year: int = 2081) -> None:
    """The module docstring's records in the year's Q2, once per year."""
    if year in SEEDED:
        return
    SEEDED.add(year)
    for index, nps in ((90, "promoter"), (80, "passive")):
        await respond(client, "D1", at(year, 5, 10), index, nps=nps)
    for index, nps in ((100, "promoter"), (100, "passive")):
        await respond(client, "D2", at(year, 5, 10), index, nps=nps)
    await respond(client, "D3", at(year, 5, 10), 70, nps="passive")
    for i in range(20):
        await visit(client, "D1", f"EV{year}D1{i:011d}", at(year, 5, 11 + i % 10))
    for i in range(4):
        await visit(client, "D3", f"EV{year}D3{i:011d}", at(year, 5, 12))
    await _complaint(client, "D1", at(year, 5, 20))
    await _complaint(client, "D3", at(year, 6, 1))


async def _put(client: httpx.AsyncClient, code: str, body: dict[str, Any], caller: str = "OEM",
               **headers: str) -> httpx.Response:
    return await client.put(f"/v1/evaluation-schemes/{code}", json=body, headers=as_(caller, WRITE) | headers)


async def _evaluations(client: httpx.AsyncClient, scheme: str, period: str, caller: str = "OEM",
                       **params: str) -> dict[str, Any]:
    answer = await client.get("/v1/evaluations", params={"scheme": scheme, "period": period, **params}, headers=as_(caller))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _by_org(evaluation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["org_code"]: item for item in evaluation["items"]}


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> None:
    await _seed(client)


class TestEvaluation:
    async def test_against_hand_computed_figures(self, client, seeded):
        assert (await _put(client, "HAND", SCHEME)).status_code == 200
        evaluation = await _evaluations(client, "HAND", "2081-Q2")
        assert (evaluation["scheme_version"], evaluation["published_at"], evaluation["level"]) == (1, None, "dealer")
        assert [item["org_code"] for item in evaluation["items"]] == ["D2", "D1", "D3"]
        d1, d2, d3 = (_by_org(evaluation)[code] for code in ("D1", "D2", "D3"))
        assert (d1["score"], d1["rank"], d1["tier"], d1["rebate_pct"]) == (54.7, 2, "Silver", 1.0)
        assert d1["elements"]["CS"] == {"score": 56.2, "kpis": {"csi": {"value": 85.0, "n": 2, "points": 62.5},
                                                                  "nps": {"value": 50.0, "n": 2, "points": 50.0}}}
        assert d1["elements"]["QUAL"] == {"score": 50.0, "kpis": {"complaint_rate": {"value": 5.0, "n": 20, "points": 50.0}}}
        assert d1["elements"]["PARTS"] == {"score": None, "kpis": {"appointment_show_rate": {"value": None, "n": 0,
                                                                                             "points": None}}}
        # Exactly Gold's min_score, over the one element with a value.
        assert (d2["score"], d2["rank"], d2["tier"], d2["rebate_pct"]) == (75.0, 1, "Gold", 2.0)
        assert d2["elements"]["QUAL"]["score"] is None
        # A rate of 25 is worse than the floor: clamped to 0 points.
        assert d3["elements"]["QUAL"]["kpis"]["complaint_rate"] == {"value": 25.0, "n": 4, "points": 0.0}
        assert (d3["score"], d3["rank"], d3["tier"], d3["rebate_pct"]) == (9.4, 3, None, None)

        distributors = _by_org(await _evaluations(client, "HAND", "2081-Q2", level="distributor"))
        assert (distributors["DN"]["score"], distributors["DN"]["rank"], distributors["DN"]["tier"]) == (61.7, 1, "Silver")
        assert distributors["DN"]["elements"]["CS"]["kpis"]["csi"] == {"value": 92.5, "n": 4, "points": 81.2}
        assert (distributors["DS"]["score"], distributors["DS"]["rank"]) == (9.4, 2)

    async def test_no_data_is_null_and_unranked(self, client):
        assert (await _put(client, "EMPTY", SCHEME)).status_code == 200
        items = (await _evaluations(client, "EMPTY", "2082-Q3"))["items"]
        assert [(i["org_code"], i["score"], i["rank"], i["tier"]) for i in items] == [
            ("D1", None, None, None), ("D2", None, None, None), ("D3", None, None, None)]

    async def test_a_dealer_created_a_moment_ago_is_evaluated_with_its_first_figures(self, client, app, monkeypatch):
        """The network's orgs are cached for a minute; figures naming an org the cache lacks ask again."""
        shared_cache = app.state.subtrees
        app.state.subtrees = CallerSubtrees(shared_cache.directory)  # the other tests' network has no D9
        try:
            assert (await _put(client, "NEWDLR", SCHEME)).status_code == 200
            assert "D9" not in _by_org(await _evaluations(client, "NEWDLR", "2097-Q2"))  # the network now cached
            monkeypatch.setitem(ORGS, "D9", {"code": "D9", "name": "Dealer 9", "kind": "dealer",
                                             "path": "/OEM/DN/D9/", "parent_code": "DN"})
            await respond(client, "D9", at(2097, 5, 10), 90, nps="promoter")
            evaluated = _by_org(await _evaluations(client, "NEWDLR", "2097-Q2"))
            assert evaluated["D9"]["elements"]["CS"]["kpis"]["csi"] == {"value": 90.0, "n": 1, "points": 75.0}
        finally:
            app.state.subtrees = shared_cache

    async def test_the_tier_compares_the_unrounded_total(self, client, seeded):
        """D1's total 54.6875 shows as 54.7: a tier from 54.69 is not reached, one from 54.6875 is."""
        tiers = [{"name": "Near", "min_score": 54.69, "rebate_pct": 0.5}]
        assert (await _put(client, "NEAR", SCHEME | {"tiers": tiers})).status_code == 200
        assert _by_org(await _evaluations(client, "NEAR", "2081-Q2"))["D1"]["tier"] is None
        tiers = [{"name": "Near", "min_score": 54.6875, "rebate_pct": 0.5}]
        assert (await _put(client, "NEAR", SCHEME | {"tiers": tiers})).status_code == 200
        assert _by_org(await _evaluations(client, "NEAR", "2081-Q2"))["D1"]["tier"] == "Near"


class TestScope:
    async def test_each_caller_sees_its_subtree_with_network_ranks(self, client, seeded):
        assert (await _put(client, "SCOPE", SCHEME)).status_code == 200
        assert [(i["org_code"], i["rank"]) for i in (await _evaluations(client, "SCOPE", "2081-Q2", "D1"))["items"]] == [("D1", 2)]
        assert [(i["org_code"], i["rank"]) for i in (await _evaluations(client, "SCOPE", "2081-Q2", "DS"))["items"]] == [("D3", 3)]
        assert [i["org_code"] for i in (await _evaluations(client, "SCOPE", "2081-Q2", "DN"))["items"]] == ["D2", "D1"]
        assert [i["org_code"] for i in (await _evaluations(client, "SCOPE", "2081-Q2", org_code="DS"))["items"]] == ["D3"]

    async def test_a_dealer_cannot_see_a_sibling_define_or_publish(self, client):
        assert (await _put(client, "SCOPE2", SCHEME)).status_code == 200
        sibling = await client.get("/v1/evaluations", params={"scheme": "SCOPE2", "period": "2081-Q2", "org_code": "D2"},
                                   headers=as_("D1"))
        assert sibling.status_code == 404
        for caller in ("D1", "DN"):
            assert (await _put(client, "SCOPE2", SCHEME, caller)).status_code == 403
            publish = await client.post("/v1/evaluations/SCOPE2/2081-Q2/publish", headers=as_(caller, WRITE))
            assert publish.status_code == 403
        # Without kpi:write even the manufacturer is refused.
        assert (await client.put("/v1/evaluation-schemes/SCOPE2", json=SCHEME, headers=as_("OEM"))).status_code == 403
        assert (await client.get("/v1/evaluation-schemes/SCOPE2", headers=as_("D1"))).json()["version"] == 1

    async def test_a_published_evaluation_shows_a_dealer_its_own_item_only(self, client, seeded):
        assert (await _put(client, "SCOPE3", SCHEME)).status_code == 200
        assert (await client.post("/v1/evaluations/SCOPE3/2081-Q2/publish", headers=as_("OEM", WRITE))).status_code == 200
        mine = await _evaluations(client, "SCOPE3", "2081-Q2", "D1")
        assert [(i["org_code"], i["rank"], i["score"]) for i in mine["items"]] == [("D1", 2, 54.7)]
        assert mine["published_at"] is not None


class TestSchemes:
    async def test_every_put_is_a_version_with_its_etag(self, client):
        first = await _put(client, "VERS", SCHEME)
        assert (first.status_code, first.headers["etag"], first.json()["version"]) == (200, '"v1"', 1)
        second = await _put(client, "VERS", SCHEME | {"title": "Second"}, **{"If-Match": '"v1"'})
        assert (second.status_code, second.headers["etag"]) == (200, '"v2"')
        assert (await _put(client, "VERS", SCHEME, **{"If-Match": '"v1"'})).status_code == 412
        assert (await _put(client, "VERS", SCHEME | {"title": "Second"}, **{"If-Match": ""})).headers["etag"] == '"v3"'
        read = await client.get("/v1/evaluation-schemes/VERS", headers=as_("D3"))
        assert (read.headers["etag"], read.json()["title"], read.json()["owner_code"]) == ('"v3"', "Second", "OEM")
        listed = (await client.get("/v1/evaluation-schemes", headers=as_("DN"))).json()["items"]
        assert [s["version"] for s in listed if s["code"] == "VERS"] == [3]
        assert (await client.get("/v1/evaluation-schemes/NOPE", headers=as_("OEM"))).status_code == 404

    async def test_invalid_schemes_are_422_and_change_nothing(self, client):
        assert (await _put(client, "VALID", SCHEME)).status_code == 200
        kpi = SCHEME["elements"][0]["kpis"][0]
        element = SCHEME["elements"][0]
        bad = [
            SCHEME | {"elements": [element | {"kpis": [kpi | {"ceiling": kpi["floor"]}]}]},
            SCHEME | {"elements": [element | {"kpis": [kpi | {"kpi": "happiness"}]}]},
            SCHEME | {"elements": [element | {"weight": 0}]},
            SCHEME | {"elements": [element | {"kpis": [kpi | {"weight": -1}]}]},
            SCHEME | {"elements": [element, element]},
            SCHEME | {"tiers": [SCHEME["tiers"][0], SCHEME["tiers"][0]]},
            SCHEME | {"elements": []},
            SCHEME | {"elements": [element | {"kpis": []}]},
        ]
        for body in bad:
            answer = await _put(client, "VALID", body)
            assert answer.status_code == 422, body
            assert answer.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/evaluation-schemes/VALID", headers=as_("OEM"))).json()["version"] == 1


async def _published_events(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.sessions() as session:
        rows = (await session.execute(select(TABLES.outbox.c.payload)
                                      .where(TABLES.outbox.c.type == "evaluation.published"))).scalars()
        return [row["data"] for row in rows]


class TestHostile:
    async def test_hostile_scheme_bodies_and_codes_are_422_never_500(self, client):
        element = SCHEME["elements"][0]
        kpi = element["kpis"][0]
        bodies = [
            SCHEME | {"title": "x" * 100_000}, SCHEME | {"title": ""},
            SCHEME | {"elements": [element | {"kpis": [kpi | {"floor": 1e308, "ceiling": -1e308}]}]},
            SCHEME | {"elements": [element | {"kpis": [kpi | {"weight": 10**40}]}]},
            SCHEME | {"elements": [element | {"code": "'; DROP TABLE kpi_rollups; --"}]},
            SCHEME | {"tiers": [{"name": "A", "min_score": 101, "rebate_pct": 1}]},
            SCHEME | {"elements": "CS"}, {"title": "no elements"},
        ]
        for body in bodies:
            answer = await _put(client, "HOSTILE", body)
            assert (answer.status_code, answer.headers["content-type"]) == (422, "application/problem+json"), body
        for raw in (b'{"title": "t", "elements": [], "tiers": [], "x": NaN}',
                    b'{"title": "t", "tiers": [], "elements": [{"code": "A", "title": "A", "weight": Infinity, '
                    b'"kpis": [{"kpi": "csi", "weight": 1, "floor": 0, "ceiling": 1}]}]}'):
            answer = await client.put("/v1/evaluation-schemes/HOSTILE", content=raw,
                                      headers=as_("OEM", WRITE) | {"content-type": "application/json"})
            assert answer.status_code == 422, answer.text
        for code in ("x" * 41, "a b", "%00", "-lead"):
            assert (await _put(client, code, SCHEME)).status_code in (404, 422)
            answer = await client.get("/v1/evaluations", params={"scheme": code, "period": "2081-Q2"}, headers=as_("OEM"))
            assert answer.status_code == 422
        assert (await client.get("/v1/evaluation-schemes/HOSTILE", headers=as_("OEM"))).status_code == 404
        for period in ("2081-Q5", "0000", "x" * 8):
            answer = await client.post(f"/v1/evaluations/HOSTILE/{period}/publish", headers=as_("OEM", WRITE))
            assert answer.status_code in (404, 422), (period, answer.status_code)


class TestPublish:
    async def test_published_figures_never_move(self, client, app):
        """Publish, then new data and a rebuild: the published evaluation answers the same; a new scheme
        version does not change it either; a second publish is a 409."""
        await _seed(client, 2083)
        assert (await _put(client, "FROZEN", SCHEME)).status_code == 200
        assert (await _put(client, "LIVE", SCHEME)).status_code == 200
        published = await client.post("/v1/evaluations/FROZEN/2083-Q2/publish", headers=as_("OEM", WRITE))
        assert published.status_code == 200, published.text
        frozen = published.json()
        assert frozen["published_at"] is not None and frozen["scheme_version"] == 1
        assert [(i["org_code"], i["score"], i["rank"], i["tier"]) for i in frozen["items"]] == [
            ("D2", 75.0, 1, "Gold"), ("D1", 54.7, 2, "Silver"), ("D3", 9.4, 3, None)]
        distributors = await _evaluations(client, "FROZEN", "2083-Q2", level="distributor")

        await respond(client, "D3", at(2083, 6, 2), 100, nps="promoter")  # D3's csi and nps would rise
        token = mint_internal_token(system_principal(), SECRET)
        assert (await client.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: token})).status_code == 200
        changed = SCHEME | {"tiers": [{"name": "Everyone", "min_score": 0, "rebate_pct": 5.0}]}
        assert (await _put(client, "FROZEN", changed)).status_code == 200

        assert await _evaluations(client, "FROZEN", "2083-Q2") == frozen
        assert await _evaluations(client, "FROZEN", "2083-Q2", level="distributor") == distributors
        live = _by_org(await _evaluations(client, "LIVE", "2083-Q2"))["D3"]  # an unpublished scheme sees the new data
        assert live["elements"]["CS"]["kpis"]["csi"] == {"value": 85.0, "n": 2, "points": 62.5}
        [event] = [e for e in await _published_events(app) if e["scheme"] == "FROZEN"]
        assert (event["org_code"], event["scheme_version"], event["period"], event["items"]) == ("OEM", 1, "2083-Q2", 5)
        again = await client.post("/v1/evaluations/FROZEN/2083-Q2/publish", headers=as_("OEM", WRITE))
        assert again.status_code == 409
        other_period = await _evaluations(client, "FROZEN", "2083-Q1")
        assert (other_period["scheme_version"], other_period["published_at"]) == (2, None)


class TestArithmetic:
    """services/kpi/evaluation.py alone: the points formula both ways, ties, the unscored."""

    def test_points_clamp_and_lower_is_better(self):
        assert [points(v, 60, 100) for v in (50, 60, 85, 100, 120)] == [0.0, 0.0, 62.5, 100.0, 100.0]
        assert [points(v, 10, 0) for v in (20, 10, 5, 0, -1)] == [0.0, 0.0, 50.0, 100.0, 100.0]

    def test_equal_totals_share_a_rank_and_the_unscored_have_none(self):
        made = [Scored(code, f"/OEM/DN/{code}/", total, {}) for code, total in
                (("D4", None), ("D3", 70.0), ("D1", 80.0), ("D2", 80.0), ("D0", None))]
        tiers = (Tier("Gold", 80, 2.0), Tier("Silver", 70, 1.0))
        assert [(s.org_code, s.rank, s.tier, s.rebate_pct) for s in ranked(made, tiers)] == [
            ("D1", 1, "Gold", 2.0), ("D2", 1, "Gold", 2.0), ("D3", 3, "Silver", 1.0), ("D0", None, None, None),
            ("D4", None, None, None)]
