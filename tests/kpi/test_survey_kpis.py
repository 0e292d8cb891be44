"""Survey KPIs over HTTP: pooling up the tree, nulls, duplicates, rankings, drivers, targets, BOLA."""

import math
import uuid
from datetime import UTC, datetime, timedelta

from tests.kpi.conftest import as_, invite, respond, summary


def at(year: int, month: int = 3, day: int = 10) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


class TestPooling:
    async def test_distributor_csi_pools_responses_not_dealer_means(self, client):
        for index in (80.0, 90.0, 100.0):
            await respond(client, "D1", at(2040), index, nps="promoter")
        await respond(client, "D2", at(2040), 50.0, nps="detractor")
        await respond(client, "D3", at(2040), 10.0, nps="passive")
        for _ in range(8):
            await invite(client, "D1", at(2040))
        dn = await summary(client, "DN", "2040-03")
        # (80 + 90 + 100 + 50) / 4 = 80, where the mean of the dealers' means would be (90 + 50) / 2 = 70.
        assert dn["csi"] == {"value": 80.0, "n": 4, "n_excluded": 0, "target": None, "met": None}
        assert dn["nps"]["value"] == 50.0  # 100 * (3 - 1) / 4
        assert (await summary(client, "D1", "2040-Q1"))["response_rate"] == {"value": 37.5, "n": 8, "n_excluded": 0, "target": None, "met": None}
        oem = await summary(client, "OEM", "2040")
        assert oem["csi"]["value"] == 66.0 and oem["csi"]["n"] == 5  # 330 / 5
        assert oem["nps"]["value"] == 40.0  # 100 * (3 - 1) / 5

    async def test_imported_third_party_results_count_for_csi_but_not_for_the_response_rate(self, client):
        await invite(client, "D2", at(2041))
        await respond(client, "D2", at(2041), 80.0)
        await respond(client, "D2", at(2041), 60.0, invited=False)
        kpis = await summary(client, "D2", "2041")
        assert (kpis["csi"]["value"], kpis["csi"]["n"]) == (70.0, 2)
        assert (kpis["response_rate"]["value"], kpis["response_rate"]["n"]) == (100.0, 1)

    async def test_no_data_is_null_not_zero(self, client):
        kpis = await summary(client, "OEM", "2041-07")
        # States "as of the period's end" carry the other tests' earlier records into every later period.
        as_of = ("lapsed_rate", "recall_completion")
        assert [kpi for kpi, figure in kpis.items()
                if kpi not in as_of and (figure["value"] is not None or figure["n"])] == []

    async def test_value_is_rounded_only_in_the_answer(self, client):
        for index in (70.04, 70.04, 70.08):
            await respond(client, "D3", at(2042), index)
        assert (await summary(client, "D3", "2042"))["csi"]["value"] == 70.1  # 210.16 / 3 = 70.053


class TestDuplicates:
    async def test_a_redelivered_event_or_response_changes_nothing(self, client):
        response_id, event_id = uuid.uuid4(), str(uuid.uuid4())
        assert await respond(client, "D1", at(2043), 60.0, response_id=response_id, event_id=event_id) == "applied"
        before = await summary(client, "DN", "2043")
        assert await respond(client, "D1", at(2043), 60.0, response_id=response_id, event_id=event_id) == "duplicate"
        # The same response re-published under a new event id is still one response.
        assert await respond(client, "D1", at(2043), 60.0, response_id=response_id) == "applied"
        assert await summary(client, "DN", "2043") == before
        assert before["csi"]["n"] == 1


class TestRankings:
    async def test_three_perfect_responses_do_not_top_sixty_good_ones(self, client):
        for _ in range(3):
            await respond(client, "D1", at(2044), 100.0)
        for i in range(60):
            await respond(client, "D2", at(2044), 90.0 if i % 2 else 100.0)
        answer = await client.get("/v1/kpi/rankings", params={"kpi": "csi", "period": "2044", "level": "dealer"},
                                  headers=as_("OEM"))
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert [(i["rank"], i["org_code"], i["name"], i["value"], i["n"]) for i in items] == [
            (1, "D2", "Dealer 2", 95.0, 60), (2, "D1", "Dealer 1", 100.0, 3)]
        d2 = items[0]
        half = 1.959963984540054 * math.sqrt(sum((v - 95) ** 2 for v in [90, 100] * 30) / 59 / 60)
        assert d2["ci_low"] == round(95 - half, 1) and d2["ci_high"] == round(95 + half, 1)
        assert items[1]["ci_low"] < d2["ci_low"] < items[1]["value"]

    async def test_distributors_pool_their_dealers_and_wilson_bounds_shares(self, client):
        await respond(client, "D1", at(2045), 80.0, nps="promoter")
        await respond(client, "D3", at(2045), 70.0, nps="detractor")
        for _ in range(4):
            await invite(client, "D1", at(2045))
        answer = await client.get("/v1/kpi/rankings", params={"kpi": "response_rate", "period": "2045",
                                                               "level": "distributor"}, headers=as_("OEM"))
        items = answer.json()["items"]
        assert [(i["org_code"], i["value"], i["n"]) for i in items] == [("DN", 25.0, 4)]
        # Wilson for 1 of 4: [4.6%, 69.9%].
        assert (items[0]["ci_low"], items[0]["ci_high"]) == (4.6, 69.9)

    async def test_a_dealer_cannot_rank_distributors(self, client):
        answer = await client.get("/v1/kpi/rankings", params={"kpi": "csi", "period": "2045", "level": "distributor"},
                                  headers=as_("D1"))
        assert answer.status_code == 422


def _pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


class TestDrivers:
    async def test_importance_needs_thirty_responses_and_the_shortest_stave_comes_first(self, client):
        rows = []
        for i in range(30):
            quality, facility = 40.0 + 2 * i, 90.0 - (i % 3)
            index = (0.7 * quality + 0.3 * facility)
            rows.append((quality, facility, index))
            await respond(client, "D3", at(2046), index, factors={"quality": quality, "facility": facility})
            if i == 28:
                early = (await client.get("/v1/kpi/drivers", params={"kind": "csi", "period": "2046", "org_code": "DS"},
                                          headers=as_("OEM"))).json()
                assert [f["importance"] for f in early["factors"]] == [None, None]
        answer = (await client.get("/v1/kpi/drivers", params={"kind": "csi", "period": "2046", "org_code": "DS"},
                                   headers=as_("OEM"))).json()
        by_factor = {f["factor"]: f for f in answer["factors"]}
        assert answer["responses"] == 30
        assert by_factor["quality"]["performance"] == round(sum(r[0] for r in rows) / 30, 1)
        assert by_factor["quality"]["importance"] == round(_pearson([r[0] for r in rows], [r[2] for r in rows]), 3)
        assert by_factor["facility"]["importance"] == round(_pearson([r[1] for r in rows], [r[2] for r in rows]), 3)
        assert by_factor["quality"]["quadrant"] == "improve_first" and answer["improve_first"] == ["quality"]
        assert by_factor["facility"]["quadrant"] == "maintain"


class TestTargets:
    async def test_targets_need_kpi_write_and_show_met(self, client):
        await respond(client, "D1", at(2047), 80.0)
        body = {"org_code": "DN", "kpi": "csi", "period": "2047", "target": 85}
        assert (await client.put("/v1/kpi/targets", json=body, headers=as_("OEM"))).status_code == 403
        org_admin_only = as_("OEM", frozenset({"kpi:read", "orgs:admin"}))
        assert (await client.put("/v1/kpi/targets", json=body, headers=org_admin_only)).status_code == 403
        admin = as_("OEM", frozenset({"kpi:read", "kpi:write"}))
        assert (await client.put("/v1/kpi/targets", json=body, headers=admin)).status_code == 200
        assert (await summary(client, "DN", "2047"))["csi"] == {"value": 80.0, "n": 1, "n_excluded": 0, "target": 85.0, "met": False}
        await client.put("/v1/kpi/targets", json={**body, "target": 80}, headers=admin)
        assert (await summary(client, "DN", "2047"))["csi"]["met"] is True

    async def test_a_dealer_admin_cannot_set_a_siblings_target(self, client):
        body = {"org_code": "D2", "kpi": "csi", "period": "2047", "target": 85}
        answer = await client.put("/v1/kpi/targets", json=body, headers=as_("D1", frozenset({"kpi:write"})))
        assert answer.status_code == 422 and answer.json()["errors"][0]["message"] == "unknown organisation"


class TestScope:
    async def test_a_dealer_cannot_read_a_siblings_or_its_parents_summary(self, client):
        for code in ("D2", "DN", "NOPE"):
            answer = await client.get("/v1/kpi/summary", params={"org_code": code, "period": "2040"}, headers=as_("D1"))
            assert answer.status_code == 404, code
        answer = await client.get("/v1/kpi/summary", params={"period": "2040"}, headers=as_("D1"))
        assert answer.json()["org_code"] == "D1" and answer.json()["kpis"]["csi"]["n"] == 3

    async def test_bad_period_and_kpi_are_422(self, client):
        assert (await client.get("/v1/kpi/summary", params={"period": "2040-13"}, headers=as_("D1"))).status_code == 422
        answer = await client.get("/v1/kpi/trends", params={"kpi": "nope", "from": "2040-01", "to": "2040-03"},
                                  headers=as_("D1"))
        assert answer.status_code == 422


class TestTrends:
    async def test_monthly_points_with_gaps_as_null(self, client):
        await respond(client, "D1", at(2048, 1), 70.0)
        await respond(client, "D2", at(2048, 3), 90.0)
        await respond(client, "D2", at(2048, 3) + timedelta(days=1), 80.0)
        answer = (await client.get("/v1/kpi/trends", params={"kpi": "csi", "org_code": "DN", "from": "2048-01",
                                                             "to": "2048-Q1"}, headers=as_("OEM"))).json()
        assert answer["points"] == [{"period": "2048-01", "value": 70.0, "n": 1},
                                    {"period": "2048-02", "value": None, "n": 0},
                                    {"period": "2048-03", "value": 85.0, "n": 2}]
