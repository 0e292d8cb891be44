"""Survey integrity in the KPIs (issue 17): a flagged response stays out of every KPI (summary,
rankings, drivers, people) until reviewed valid, an invalid one for good; `n_excluded` counts
them; `integrity_flag_rate` is the share of the period's responses flagged. Flags and reviews
arrive in any order, and more than once.

The tree: OEM > DN > (D1, D2), OEM > DS > D3. Each test its own year (2120 on) and staff codes.
"""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.events import new_event
from tests.kpi.conftest import ORGS, SECRET, as_, deliver, summary


def at(year: int, day: int = 10) -> datetime:
    return datetime(year, 3, day, 9, 0, tzinfo=UTC)


def _common(dealer: str, response_id: uuid.UUID, submitted: datetime) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()),
            "survey_code": "CSI", "survey_version": 1, "kind": "csi", "response_id": str(response_id),
            "submitted_at": submitted.isoformat()}


async def respond(client: httpx.AsyncClient, dealer: str, submitted: datetime, index: float, nps: str,
                  factors: dict[str, float], *, status: str = "clean", flags: tuple[str, ...] = (),
                  response_id: uuid.UUID | None = None, **people: str) -> uuid.UUID:
    response_id = response_id or uuid.uuid4()
    await deliver(client, "survey.response.submitted", {
        **_common(dealer, response_id, submitted), "invitation_id": str(uuid.uuid4()),
        "scores": {"index": index, "factors": factors, "nps_category": nps}, "staff": people or None,
        "integrity": {"status": status, "flags": list(flags)}})
    return response_id


async def flag(client: httpx.AsyncClient, dealer: str, response_id: uuid.UUID, submitted: datetime,
               *flags: str) -> str:
    """survey.response.flagged: a flag raised after submission (status flagged)."""
    return await deliver(client, "survey.response.flagged", {
        **_common(dealer, response_id, submitted), "integrity": {"status": "flagged", "flags": list(flags)}})


async def review(client: httpx.AsyncClient, dealer: str, response_id: uuid.UUID, submitted: datetime, decision: str,
                 reviewed: datetime, *flags: str) -> str:
    return await deliver(client, "survey.response.reviewed", {
        **_common(dealer, response_id, submitted), "integrity": {"status": decision, "flags": list(flags)},
        "reviewed_at": reviewed.isoformat()})


async def rankings(client: httpx.AsyncClient, period: str, org: str = "DN") -> list[tuple[str, float, int]]:
    answer = await client.get("/v1/kpi/rankings", params={"kpi": "csi", "level": "dealer", "org_code": org,
                                                          "period": period}, headers=as_("OEM"))
    assert answer.status_code == 200, answer.text
    return [(item["org_code"], item["value"], item["n"]) for item in answer.json()["items"]]


async def drivers(client: httpx.AsyncClient, org: str, period: str) -> tuple[int, list[tuple[str, float, int]]]:
    answer = await client.get("/v1/kpi/drivers", params={"kind": "csi", "org_code": org, "period": period},
                              headers=as_("OEM"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["responses"], [(f["factor"], f["performance"], f["n"]) for f in body["factors"]]


async def people_csi(client: httpx.AsyncClient, org: str, period: str) -> list[tuple[str, float, int]]:
    answer = await client.get("/v1/kpi/people", params={"org_code": org, "period": period, "kpi": "csi"},
                              headers=as_("OEM"))
    assert answer.status_code == 200, answer.text
    return [(item["staff_code"], item["value"], item["n"]) for item in answer.json()["items"]]


def figure(kpis: dict[str, Any], kpi: str) -> tuple[Any, int, int]:
    return kpis[kpi]["value"], kpis[kpi]["n"], kpis[kpi]["n_excluded"]


class TestFlaggedUntilReviewed:
    async def test_a_flagged_response_is_out_of_every_figure_until_reviewed_valid(self, client):
        """D1 in March 2120: 80 and 90 (promoters) clean, 40 (detractor) flagged as a speeder; D2: 60 clean."""
        year = 2120
        await respond(client, "D1", at(year), 80.0, "promoter", {"quality": 70.0, "facility": 90.0}, advisor="P20-A1")
        await respond(client, "D1", at(year), 90.0, "promoter", {"quality": 80.0, "facility": 100.0}, advisor="P20-A1")
        held = await respond(client, "D1", at(year), 40.0, "detractor", {"quality": 10.0, "facility": 20.0},
                             status="flagged", flags=("speeder",), advisor="P20-A1")
        await respond(client, "D2", at(year), 60.0, "passive", {"quality": 50.0, "facility": 60.0})

        d1 = await summary(client, "D1", str(year))
        assert figure(d1, "csi") == (85.0, 2, 1)  # (80 + 90) / 2; the 40 held out
        assert figure(d1, "nps") == (100.0, 2, 1)
        assert figure(d1, "response_rate") == (None, 0, 1)  # no invitations here; one invited response held out
        assert figure(d1, "fir") == (None, 0, 0)  # not a survey KPI: nothing is held out of it
        assert figure(d1, "integrity_flag_rate") == (33.3, 3, 0)  # 1 of 3 responses flagged
        assert figure(await summary(client, "DN", str(year)), "integrity_flag_rate") == (25.0, 4, 0)  # 1 of 4
        assert await rankings(client, str(year)) == [("D1", 85.0, 2), ("D2", 60.0, 1)]
        assert await drivers(client, "D1", str(year)) == (2, [("facility", 95.0, 2), ("quality", 75.0, 2)])
        assert await people_csi(client, "D1", str(year)) == [("P20-A1", 85.0, 2)]

        started = time.monotonic()
        await review(client, "D1", held, at(year), "valid", at(year, 12), "speeder")
        d1 = await summary(client, "D1", str(year))
        assert time.monotonic() - started < 2.0  # the KPI follows the review at once, not at a nightly rebuild
        assert figure(d1, "csi") == (70.0, 3, 0)  # (80 + 90 + 40) / 3
        assert figure(d1, "nps") == (33.3, 3, 0)  # 100 * (2 - 1) / 3
        assert figure(d1, "response_rate") == (None, 0, 0)
        assert figure(d1, "integrity_flag_rate") == (33.3, 3, 0)  # flagged before review: still counted as flagged
        assert await rankings(client, str(year)) == [("D1", 70.0, 3), ("D2", 60.0, 1)]
        # quality (70 + 80 + 10) / 3 = 53.3, facility (90 + 100 + 20) / 3 = 70.0
        assert await drivers(client, "D1", str(year)) == (3, [("facility", 70.0, 3), ("quality", 53.3, 3)])
        assert await people_csi(client, "D1", str(year)) == [("P20-A1", 70.0, 3)]
        assert figure(await summary(client, "OEM", str(year)), "csi") == (67.5, 4, 0)  # (80 + 90 + 40 + 60) / 4

        # The review again (a new event id) and a flag raised late, after the review: nothing moves.
        before = await summary(client, "OEM", str(year))
        assert await review(client, "D1", held, at(year), "valid", at(year, 12), "speeder") == "applied"
        assert await flag(client, "D1", held, at(year), "speeder", "dealer_spike") == "applied"
        assert await summary(client, "OEM", str(year)) == before
        assert await drivers(client, "D1", str(year)) == (3, [("facility", 70.0, 3), ("quality", 53.3, 3)])
        assert await people_csi(client, "D1", str(year)) == [("P20-A1", 70.0, 3)]

    async def test_a_counted_response_flagged_later_is_taken_back_and_invalid_keeps_it_out(self, client):
        """D3 in March 2121: 70 and 50 clean; the 50 flagged after submission, then reviewed invalid."""
        year = 2121
        await respond(client, "D3", at(year), 70.0, "promoter", {"quality": 60.0}, advisor="P21-A1")
        later = await respond(client, "D3", at(year), 50.0, "detractor", {"quality": 30.0}, advisor="P21-A1")
        assert figure(await summary(client, "D3", str(year)), "csi") == (60.0, 2, 0)

        await flag(client, "D3", later, at(year), "duplicate_text")
        d3 = await summary(client, "D3", str(year))
        assert figure(d3, "csi") == (70.0, 1, 1)  # exactly what the 50 had added, taken back
        assert figure(d3, "nps") == (100.0, 1, 1)
        assert figure(d3, "integrity_flag_rate") == (50.0, 2, 0)
        assert await drivers(client, "D3", str(year)) == (1, [("quality", 60.0, 1)])
        assert await people_csi(client, "D3", str(year)) == [("P21-A1", 70.0, 1)]
        assert await rankings(client, str(year), "DS") == [("D3", 70.0, 1)]

        for _ in range(2):  # reviewed invalid, and the review delivered again: out for good
            await review(client, "D3", later, at(year), "invalid", at(year, 11), "duplicate_text")
            await flag(client, "D3", later, at(year), "duplicate_text")  # a replayed flag after the review
            d3 = await summary(client, "D3", str(year))
            assert figure(d3, "csi") == (70.0, 1, 1)
            assert figure(d3, "integrity_flag_rate") == (50.0, 2, 0)
            assert await drivers(client, "D3", str(year)) == (1, [("quality", 60.0, 1)])
            assert await people_csi(client, "D3", str(year)) == [("P21-A1", 70.0, 1)]
        assert figure(await summary(client, "OEM", str(year)), "csi") == (70.0, 1, 1)


class TestOrder:
    async def test_flags_and_reviews_arriving_before_their_submission_or_out_of_order(self, client):
        """D2 in March 2122: one response reviewed valid before its flag and its submission arrived, one
        reviewed invalid before its (clean) submission, one reviewed twice with the older review last."""
        year = 2122
        in_, out, twice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await review(client, "D2", in_, at(year), "valid", at(year, 12), "shared_device")
        await flag(client, "D2", in_, at(year), "shared_device")
        await review(client, "D2", out, at(year), "invalid", at(year, 12), "dealer_network")
        assert figure(await summary(client, "D2", str(year)), "csi") == (None, 0, 0)  # nothing submitted yet
        assert figure(await summary(client, "D2", str(year)), "integrity_flag_rate") == (None, 0, 0)

        await respond(client, "D2", at(year), 90.0, "promoter", {"quality": 80.0}, status="flagged",
                      flags=("shared_device",), response_id=in_)
        await respond(client, "D2", at(year), 30.0, "detractor", {"quality": 20.0}, response_id=out)
        await respond(client, "D2", at(year), 60.0, "passive", {"quality": 50.0}, status="flagged", flags=("speeder",),
                      response_id=twice)
        await review(client, "D2", twice, at(year), "valid", at(year, 14), "speeder")
        await review(client, "D2", twice, at(year), "invalid", at(year, 13), "speeder")  # older, delivered late

        d2 = await summary(client, "D2", str(year))
        assert figure(d2, "csi") == (75.0, 2, 1)  # (90 + 60) / 2; the 30 held out
        assert figure(d2, "nps") == (50.0, 2, 1)  # (100 + 0) / 2
        assert figure(d2, "integrity_flag_rate") == (100.0, 3, 0)  # all three were flagged
        assert await drivers(client, "D2", str(year)) == (2, [("quality", 65.0, 2)])
        assert await rankings(client, str(year)) == [("D2", 75.0, 2)]

    async def test_a_batch_with_the_submission_after_its_flag_leaves_what_one_by_one_leaves(self, client):
        """One relay batch: the flag first, its submission after; applied set-based, the flag still holds."""
        year = 2123
        response_id, submitted = uuid.uuid4(), at(year)
        events = [{"type": "survey.response.flagged", "data": {
                      **_common("D1", response_id, submitted), "integrity": {"status": "flagged", "flags": ["speeder"]}}},
                  {"type": "survey.response.submitted", "data": {
                      **_common("D1", response_id, submitted), "invitation_id": str(uuid.uuid4()),
                      "scores": {"index": 40.0, "factors": {}, "nps_category": "detractor"}}},
                  {"type": "survey.response.submitted", "data": {
                      **_common("D1", uuid.uuid4(), submitted), "invitation_id": str(uuid.uuid4()),
                      "scores": {"index": 80.0, "factors": {}, "nps_category": "promoter"}}}]
        batch = [new_event("/csloop/test", e["type"], None, e["data"]).model_dump(mode="json") for e in events]
        internal = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
        answer = await client.post("/internal/events", json=batch, headers=internal)
        assert answer.status_code == 200, answer.text
        d1 = await summary(client, "D1", str(year))
        assert figure(d1, "csi") == (80.0, 1, 1)
        assert figure(d1, "integrity_flag_rate") == (50.0, 2, 0)


class TestRebuild:
    async def test_a_rebuild_from_the_survey_records_restores_integrity_and_the_figures(self, client):
        """D1 in March 2124: 80 clean; 40 flagged then reviewed valid; 60 clean, flagged later, reviewed invalid."""
        year = 2124
        await respond(client, "D1", at(year), 80.0, "promoter", {"quality": 70.0}, advisor="P24-A1")
        valid = await respond(client, "D1", at(year), 40.0, "detractor", {"quality": 30.0}, status="flagged",
                              flags=("straight_line",), advisor="P24-A1")
        invalid = await respond(client, "D1", at(year), 60.0, "passive", {"quality": 50.0}, advisor="P24-A1")
        await review(client, "D1", valid, at(year), "valid", at(year, 12), "straight_line")
        await flag(client, "D1", invalid, at(year), "shared_device")
        await review(client, "D1", invalid, at(year), "invalid", at(year, 13), "shared_device")
        d1 = await summary(client, "D1", str(year))
        assert figure(d1, "csi") == (60.0, 2, 1)  # (80 + 40) / 2
        assert figure(d1, "integrity_flag_rate") == (66.7, 3, 0)  # 2 of 3 flagged
        before = (d1, await drivers(client, "D1", str(year)), await people_csi(client, "D1", str(year)),
                  await rankings(client, str(year)))

        token = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
        answer = await client.post("/internal/kpi/rebuild", headers=token)
        assert answer.status_code == 200, answer.text
        after = (await summary(client, "D1", str(year)), await drivers(client, "D1", str(year)),
                 await people_csi(client, "D1", str(year)), await rankings(client, str(year)))
        assert after == before
        assert before[1] == (2, [("quality", 50.0, 2)]) and before[2] == [("P24-A1", 60.0, 2)]


class TestFlagRate:
    async def test_the_flag_rate_ranks_dealers_lower_first_and_targets_read_it_lower_is_better(self, client):
        """March 2125: D1 1 of 4 flagged (25%), D2 2 of 4 (50%)."""
        year = 2125
        for dealer, flagged in (("D1", 1), ("D2", 2)):
            for i in range(4):
                await respond(client, dealer, at(year), 70.0, "passive", {}, status="flagged" if i < flagged else "clean",
                              flags=("speeder",) if i < flagged else ())
        answer = await client.get("/v1/kpi/rankings", params={"kpi": "integrity_flag_rate", "level": "dealer",
                                                              "org_code": "DN", "period": str(year)}, headers=as_("OEM"))
        assert answer.status_code == 200, answer.text
        assert [(i["org_code"], i["value"], i["n"]) for i in answer.json()["items"]] == [("D1", 25.0, 4), ("D2", 50.0, 4)]
        assert figure(await summary(client, "DN", str(year)), "integrity_flag_rate") == (37.5, 8, 0)  # 3 of 8
        trend = await client.get("/v1/kpi/trends", params={"kpi": "integrity_flag_rate", "org_code": "DN",
                                                           "from": f"{year}-02", "to": f"{year}-03"}, headers=as_("OEM"))
        assert [(p["period"], p["value"], p["n"]) for p in trend.json()["points"]] == [
            (f"{year}-02", None, 0), (f"{year}-03", 37.5, 8)]
