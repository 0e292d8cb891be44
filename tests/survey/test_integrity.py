"""Survey integrity (issue 17, DOMAIN.md): each flag on a hand-made case and its near miss, the
organisations' rules (nearest wins), the review (never by the dealer) and what a dealer is not shown."""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from services.survey import integrity, review
from services.survey.jobs import flag_spikes_once
from services.survey.models import Invitation, SurveyResponse
from services.survey.repository import SurveyRepository
from shared.db import utcnow
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.rls import SYSTEM_PATH
from tests.survey.conftest import ORGS, SECRET, as_, deliver, invite, outbox_events, published_survey, token_of


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


# Eight rating items (a rating and a seven-row matrix), one shown only after a low rating, free text.
ROWS = [f"r{n}" for n in range(1, 8)]
DEFINITION = {
    "kind": "custom", "title": _t("Integrity"),
    "questions": [
        {"code": "overall", "type": "rating", "text": _t("Overall"), "scale_min": 1, "scale_max": 5, "required": True,
         "critical": {"lte": 1}},
        {"code": "grid", "type": "matrix", "text": _t("Grid"), "scale_min": 1, "scale_max": 5,
         "rows": [{"code": row, "text": _t(row)} for row in ROWS]},
        {"code": "why", "type": "text", "text": _t("Why so low?"), "show_if": {"question": "overall", "lte": 2}},
        {"code": "note", "type": "text", "text": _t("Anything else?")},
    ],
}
EVERY_FLAG = ("speeder", "straight_line", "shared_device", "dealer_network", "duplicate_text", "dealer_spike")


def answers(overall: int = 4, grid: list[int] | None = None, note: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"overall": overall, "grid": dict(zip(ROWS, grid or [4, 5, 4, 5, 4, 5, 4], strict=True))}
    if note is not None:
        found["note"] = note
    return found


def gateway(device: str | None = None, client: str | None = None, network: bool = False) -> dict[str, str]:
    """The headers the gateway adds on a public route, with the internal token that makes them trusted."""
    headers = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
    if device:
        headers["X-CSLoop-Device-Hash"] = device
    if client:
        headers["X-CSLoop-Client-Hash"] = client
    if network:
        headers["X-CSLoop-Dealer-Network"] = "1"
    return headers


@pytest.fixture(scope="module")
async def survey(client: httpx.AsyncClient) -> dict[str, Any]:
    return await published_survey(client, DEFINITION)


@pytest.fixture(scope="module")
async def timed_survey(client: httpx.AsyncClient) -> dict[str, Any]:
    return await published_survey(client, {**DEFINITION, "expected_seconds": 30})


async def rules(client: httpx.AsyncClient, org: str, caller: str | None = None, **flags: Any) -> httpx.Response:
    return await client.put("/v1/survey-integrity/rules", json={"org_code": org, "flags": flags},
                            headers=as_(caller or org))


@pytest.fixture(autouse=True)
async def every_flag_on_at_d1(client: httpx.AsyncClient) -> None:
    """D1's own rules (the nearest) with every flag on and the defaults, whatever other tests set above."""
    assert (await rules(client, "D1", caller="DN")).status_code == 200


async def answered(client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any], body: dict[str, Any], *,
                   dealer: str = "D1", opened_ago: float | None = 600.0,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Invite, open the link `opened_ago` seconds back (None: never opened), submit; the response as DN reads it."""
    token = await token_of(client, await invite(client, survey["id"], dealer))
    if opened_ago is not None:
        assert (await client.get(f"/v1/public/surveys/{token}")).status_code == 200
        async with app.state.sessions() as session, session.begin():
            await session.execute(update(Invitation).where(Invitation.token == token)
                                  .values(first_opened_at=utcnow() - timedelta(seconds=opened_ago)))
    submitted = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": body}, headers=headers or {})
    assert submitted.status_code == 201, submitted.text
    return await read(client, submitted.json()["id"])


async def read(client: httpx.AsyncClient, response_id: str, caller: str = "DN") -> dict[str, Any]:
    got = await client.get(f"/v1/survey-responses/{response_id}", headers=as_(caller))
    assert got.status_code == 200, got.text
    return got.json()


def flags(response: dict[str, Any]) -> list[str]:
    return response["integrity"]["flags"]


# --- the flags, each on a hand-made case and its near miss ------------------------------------------


async def test_speeder_under_a_third_of_the_expected_time(client: httpx.AsyncClient, app: FastAPI,
                                                          timed_survey: dict[str, Any]) -> None:
    # expected_seconds 30: under 10 s is a speeder.
    fast = await answered(client, app, timed_survey, answers(), opened_ago=9)
    assert flags(fast) == ["speeder"] and fast["integrity"]["status"] == "flagged"
    assert 9 <= fast["integrity"]["duration_seconds"] < 10
    near = await answered(client, app, timed_survey, answers(), opened_ago=11)
    assert flags(near) == [] and near["integrity"]["status"] == "clean"


async def test_expected_time_defaults_to_five_seconds_per_question_shown(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    # overall 4 hides `why`: 3 questions shown, 15 s expected, a speeder under 5 s.
    assert flags(await answered(client, app, survey, answers(), opened_ago=4.5)) == ["speeder"]
    assert flags(await answered(client, app, survey, answers(), opened_ago=5.5)) == []
    # overall 2 shows `why`: 4 questions, 20 s, a speeder under 6.67 s.
    assert flags(await answered(client, app, survey, answers(overall=2), opened_ago=6.2)) == ["speeder"]


async def test_the_first_read_of_the_link_starts_the_clock(client: httpx.AsyncClient, app: FastAPI,
                                                            timed_survey: dict[str, Any]) -> None:
    token = await token_of(client, await invite(client, timed_survey["id"]))
    assert (await client.get(f"/v1/public/surveys/{token}")).status_code == 200
    async with app.state.sessions() as session:
        first = (await session.execute(select(Invitation.first_opened_at).where(Invitation.token == token))).scalar_one()
    assert first is not None
    assert (await client.get(f"/v1/public/surveys/{token}")).status_code == 200  # a second read keeps the first
    submitted = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers()})
    response = await read(client, submitted.json()["id"])
    assert flags(response) == ["speeder"] and 0 <= response["integrity"]["duration_seconds"] < 10
    async with app.state.sessions() as session:
        again = (await session.execute(select(Invitation.first_opened_at).where(Invitation.token == token))).scalar_one()
    assert again == first


async def test_a_link_never_opened_through_the_page_is_no_evidence_of_speed(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    response = await answered(client, app, survey, answers(), opened_ago=None)
    assert flags(response) == [] and response["integrity"]["duration_seconds"] is None


async def test_straight_line_needs_eight_equal_rating_items(client: httpx.AsyncClient, app: FastAPI,
                                                            survey: dict[str, Any]) -> None:
    assert flags(await answered(client, app, survey, answers(4, [4] * 7))) == ["straight_line"]
    # Seven of eight alike is not a straight line.
    assert flags(await answered(client, app, survey, answers(4, [4] * 6 + [5]))) == []


async def test_straight_line_counts_only_the_rating_items_answered(client: httpx.AsyncClient, app: FastAPI,
                                                                   survey: dict[str, Any]) -> None:
    # Seven rating items answered (a matrix row left out), all alike: under the eight the rule needs.
    body = answers(3, [3] * 7)
    del body["grid"]["r7"]
    assert flags(await answered(client, app, survey, body)) == []


async def test_shared_device_on_the_third_customer_flags_the_earlier_two(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    device = uuid.uuid4().hex
    first = await answered(client, app, survey, answers(), headers=gateway(device))
    second = await answered(client, app, survey, answers(), headers=gateway(device))
    assert flags(first) == flags(second) == []  # two customers: the near miss
    # Another dealer's answers from the same device are not this dealer's history.
    other = await answered(client, app, survey, answers(), dealer="D2", headers=gateway(device))
    assert flags(other) == []
    third = await answered(client, app, survey, answers(), headers=gateway(device))
    assert flags(third) == ["shared_device"]
    assert [flags(await read(client, r["id"])) for r in (first, second, other)] == [
        ["shared_device"], ["shared_device"], []]
    flagged = [event for event in await outbox_events(app, "survey.response.flagged")
               if event["response_id"] in {first["id"], second["id"]}]
    assert len(flagged) == 2
    assert all(event["integrity"] == {"status": "flagged", "flags": ["shared_device"]} and event["reviewed_at"] is None
               for event in flagged)


async def test_shared_device_looks_back_seven_days(client: httpx.AsyncClient, app: FastAPI,
                                                   survey: dict[str, Any]) -> None:
    device = uuid.uuid4().hex
    old = [await answered(client, app, survey, answers(), headers=gateway(device)) for _ in range(2)]
    async with app.state.sessions() as session, session.begin():
        await session.execute(update(SurveyResponse).where(SurveyResponse.id.in_([uuid.UUID(r["id"]) for r in old]))
                              .values(created_at=utcnow() - timedelta(days=7, minutes=1)))
    assert flags(await answered(client, app, survey, answers(), headers=gateway(device))) == []


async def flagged_events(app: FastAPI, responses: list[dict[str, Any]]) -> Counter[str]:
    """How many survey.response.flagged events each of `responses` has."""
    ids = {response["id"] for response in responses}
    return Counter(event["response_id"] for event in await outbox_events(app, "survey.response.flagged")
                   if event["response_id"] in ids)


async def test_a_group_is_flagged_once_and_a_later_member_carries_its_own_flag(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    device, text = uuid.uuid4().hex, f"same words {uuid.uuid4().hex}"
    passes = 0
    flag_group = review.flag_group

    async def counted(*args: Any) -> int:
        nonlocal passes
        passes += 1
        return await flag_group(*args)

    monkeypatch.setattr(review, "flag_group", counted)
    group = [await answered(client, app, survey, answers(note=text), headers=gateway(device)) for _ in range(10)]
    # The third completes both groups: one pass flags the first two; the later seven need none.
    assert passes == 1
    both = ["shared_device", "duplicate_text"]
    assert [flags(await read(client, r["id"])) for r in group] == [both] * 10
    # One event each for the first two, naming both flags; none for the later members ...
    assert await flagged_events(app, group) == Counter({group[0]["id"]: 1, group[1]["id"]: 1})
    assert all(event["integrity"] == {"status": "flagged", "flags": both}
               for event in await outbox_events(app, "survey.response.flagged") if event["response_id"] == group[0]["id"])
    # ... whose own submitted events, one each, carry the flags (a flagged member's is written after
    # its history was read, the others' by the INSERT that read it: TokenRepository.add_response).
    submitted_events = await outbox_events(app, "survey.response.submitted")
    assert Counter(e["response_id"] for e in submitted_events if e["response_id"] in {r["id"] for r in group}) == Counter(
        {r["id"]: 1 for r in group})
    submitted = {e["response_id"]: e["integrity"] for e in submitted_events}
    assert [submitted[r["id"]] for r in group] == [{"status": "clean", "flags": []}] * 2 + [
        {"status": "flagged", "flags": both}] * 8


async def test_a_flag_switched_on_reaches_the_group_formed_meanwhile_once(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    device = uuid.uuid4().hex
    assert (await rules(client, "D1", caller="DN", shared_device={"on": False})).status_code == 200
    earlier = [await answered(client, app, survey, answers(), headers=gateway(device)) for _ in range(4)]
    assert [flags(r) for r in earlier] == [[]] * 4
    assert (await rules(client, "D1", caller="DN")).status_code == 200
    later = [await answered(client, app, survey, answers(), headers=gateway(device)) for _ in range(2)]
    assert [flags(await read(client, r["id"])) for r in earlier + later] == [["shared_device"]] * 6
    assert await flagged_events(app, earlier + later) == Counter({r["id"]: 1 for r in earlier})


def _postgres_only(app: FastAPI) -> None:
    if app.state.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("locks between transactions: PostgreSQL (SQLite runs one writer at a time)")


async def _waits_on_a_lock_or_ends(app: FastAPI, task: asyncio.Task[int]) -> None:
    """Until `task`'s transaction waits for a lock another holds, or the task has ended."""
    for _ in range(400):
        if task.done():
            return
        async with app.state.sessions() as session:
            if await session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the second pass neither ended nor waited for the first")


async def test_two_passes_completing_one_group_at_once_flag_each_member_once(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    _postgres_only(app)
    device = uuid.uuid4().hex
    assert (await rules(client, "D1", caller="DN", shared_device={"on": False})).status_code == 200
    group = [await answered(client, app, survey, answers(), headers=gateway(device)) for _ in range(3)]
    assert (await rules(client, "D1", caller="DN")).status_code == 200
    async with app.state.sessions() as session:
        third = await session.get(SurveyResponse, uuid.UUID(group[2]["id"]))
        completing = SimpleNamespace(**{name: getattr(third, name) for name in (
            "id", "org_path", "dealer_code", "device_hash", "text_hash", "created_at")})

    async def flag_pass() -> int:
        async with app.state.sessions(info={"org_path": SYSTEM_PATH}) as session, session.begin():
            return await review.flag_group(SurveyRepository(session, system_principal()), completing,
                                           ["shared_device"], app.state.settings)

    # The first pass flags the two and holds its transaction open while a second one starts.
    async with app.state.sessions(info={"org_path": SYSTEM_PATH}) as session, session.begin():
        first = await review.flag_group(SurveyRepository(session, system_principal()), completing,
                                        ["shared_device"], app.state.settings)
        second = asyncio.create_task(flag_pass())
        await _waits_on_a_lock_or_ends(app, second)
    assert (first, await second) == (2, 0)
    assert await flagged_events(app, group) == Counter({group[0]["id"]: 1, group[1]["id"]: 1})


async def test_dealer_network_and_hashes_are_trusted_only_from_the_gateway(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    inside = await answered(client, app, survey, answers(), headers=gateway(client="c" * 64, network=True))
    assert flags(inside) == ["dealer_network"] and inside["integrity"]["client_hash"] == "c" * 64
    assert flags(await answered(client, app, survey, answers(), headers=gateway(client="c" * 64))) == []
    # A client that sends the headers itself, without the gateway's internal token: ignored.
    forged = await answered(client, app, survey, answers(), headers={"X-CSLoop-Dealer-Network": "1",
                                                                     "X-CSLoop-Client-Hash": "f" * 64})
    assert flags(forged) == [] and forged["integrity"]["client_hash"] is None


async def test_duplicate_text_as_two_other_responses_of_the_dealer(
        client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    text = f"Great service, very friendly staff {uuid.uuid4().hex[:8]}"
    first = await answered(client, app, survey, answers(note=text))
    elsewhere = await answered(client, app, survey, answers(note=text), dealer="D2")
    second = await answered(client, app, survey, answers(note=f"  {text.upper()} "))  # copies differ in case and spacing
    assert flags(first) == flags(elsewhere) == flags(second) == []  # one other of the dealer: the near miss
    third = await answered(client, app, survey, answers(note=text))
    assert flags(third) == ["duplicate_text"]
    assert [flags(await read(client, r["id"])) for r in (first, second, elsewhere)] == [
        ["duplicate_text"], ["duplicate_text"], []]


async def test_flags_combine_in_one_order(client: httpx.AsyncClient, app: FastAPI, timed_survey: dict[str, Any]) -> None:
    response = await answered(client, app, timed_survey, answers(4, [4] * 7), opened_ago=1,
                              headers=gateway(network=True))
    assert flags(response) == ["speeder", "straight_line", "dealer_network"]


async def test_the_submitted_event_and_the_alert_carry_the_integrity(
        client: httpx.AsyncClient, app: FastAPI, timed_survey: dict[str, Any]) -> None:
    response = await answered(client, app, timed_survey, answers(1, [1] * 7), opened_ago=1)
    [submitted] = [e for e in await outbox_events(app, "survey.response.submitted") if e["response_id"] == response["id"]]
    assert submitted["integrity"] == {"status": "flagged", "flags": ["speeder", "straight_line"]}
    [alert] = [e for e in await outbox_events(app, "survey.alert.raised") if e["response_id"] == response["id"]]
    assert alert["integrity"] == submitted["integrity"]


def test_dealer_spike_threshold_by_hand() -> None:
    rule = integrity.DealerSpikeRule()
    previous = [80.0, 82.0] * 6  # mean 81, population sd 1: the line is 84
    assert integrity.dealer_spike(84.5, previous, 10, 10, rule)
    assert not integrity.dealer_spike(84.0, previous, 10, 10, rule)  # on the line is not above it
    assert not integrity.dealer_spike(99.0, previous, 9, 10, rule)  # n < 10
    assert not integrity.dealer_spike(99.0, [80.0], 10, 10, rule)  # one week has no deviation
    assert not integrity.dealer_spike(99.0, previous, 10, 10, integrity.DealerSpikeRule(on=False))


def spike_rows(survey: dict[str, Any], dealer: str, week: datetime, indexes: list[float]) -> list[SurveyResponse]:
    """CSI responses of `dealer` in `week`, one an hour from 10:00, with these indexes."""
    return [SurveyResponse(survey_id=uuid.UUID(survey["id"]), survey_version=1, kind="csi", dealer_code=dealer,
                           org_path=f"/OEM/{'DS' if dealer == 'D3' else 'DN'}/{dealer}/", submitted={}, answers={},
                           scores={"index": index}, score_index=index, alerts=[],
                           created_at=week + timedelta(hours=10 + n)) for n, index in enumerate(indexes)]


async def spiking_week(app: FastAPI, survey: dict[str, Any], judged: datetime) -> tuple[list[SurveyResponse], list[SurveyResponse]]:
    """Twelve weeks of D3 and D2 at a CSI of 80 and 82 in turn (mean 81, sd 1), then the judged week:
    (D3's ten at 85, a spike; D2's ten at 84, on the line, not above it)."""
    history = [spike_rows(survey, dealer, judged - timedelta(weeks=back), [80.0, 80.0] if back % 2 else [82.0, 82.0])
               for dealer in ("D3", "D2") for back in range(1, 13)]
    spiking, near = spike_rows(survey, "D3", judged, [85.0] * 10), spike_rows(survey, "D2", judged, [84.0] * 10)
    async with app.state.sessions() as session, session.begin():
        session.add_all([row for week in history for row in week] + spiking + near)
    return spiking, near


async def test_the_daily_pass_flags_a_spiking_week(client: httpx.AsyncClient, app: FastAPI,
                                                   survey: dict[str, Any]) -> None:
    judged = datetime(2019, 3, 4, tzinfo=UTC)  # a Monday: the pass on 2019-03-11 judges this week
    pass_at = datetime(2019, 3, 11, 6, tzinfo=UTC)
    spiking, near = await spiking_week(app, survey, judged)
    assert await flag_spikes_once(app.state.sessions, app.state.settings, now=pass_at) == 10
    for row in spiking:
        assert flags(await read(client, str(row.id), caller="OEM")) == ["dealer_spike"]
    assert [flags(await read(client, str(row.id))) for row in near] == [[]] * 10
    flagged = {e["response_id"] for e in await outbox_events(app, "survey.response.flagged")}
    assert {str(row.id) for row in spiking} <= flagged and not {str(row.id) for row in near} & flagged
    assert await flag_spikes_once(app.state.sessions, app.state.settings, now=pass_at) == 0  # idempotent


async def test_two_replicas_passing_at_once_flag_a_spiking_week_once(client: httpx.AsyncClient, app: FastAPI,
                                                                     survey: dict[str, Any]) -> None:
    _postgres_only(app)
    judged = datetime(2016, 3, 7, tzinfo=UTC)  # years before the other spike test's weeks: none of its rows weigh here
    pass_at = datetime(2016, 3, 14, 6, tzinfo=UTC)
    spiking, _near = await spiking_week(app, survey, judged)
    # One replica's pass is under way (its transaction open) when the other's starts.
    async with app.state.sessions() as session, session.begin():
        first = await review.flag_spikes(SurveyRepository(session, system_principal()), app.state.settings, pass_at)
        second = asyncio.create_task(flag_spikes_once(app.state.sessions, app.state.settings, now=pass_at))
        await _waits_on_a_lock_or_ends(app, second)
    assert (first, await second) == (10, 0)
    ids = {str(row.id) for row in spiking}
    assert Counter(e["response_id"] for e in await outbox_events(app, "survey.response.flagged")
                   if e["response_id"] in ids) == Counter({response_id: 1 for response_id in ids})
    assert [flags(await read(client, str(row.id), caller="OEM")) for row in spiking] == [["dealer_spike"]] * 10


# --- rules -----------------------------------------------------------------------------------------


async def test_switched_off_a_flag_does_not_fire(client: httpx.AsyncClient, app: FastAPI,
                                                 survey: dict[str, Any]) -> None:
    assert (await rules(client, "D1", caller="DN", straight_line={"on": False})).status_code == 200
    assert flags(await answered(client, app, survey, answers(4, [4] * 7))) == []
    assert (await rules(client, "D1", caller="DN", straight_line={"min_items": 9})).status_code == 200
    assert flags(await answered(client, app, survey, answers(4, [4] * 7))) == []  # eight items, nine needed


async def test_the_nearest_organisations_rules_win(client: httpx.AsyncClient) -> None:
    try:
        assert (await rules(client, "OEM", speeder={"on": False})).status_code == 200
        assert (await rules(client, "DN", straight_line={"min_items": 5})).status_code == 200
        d2 = (await client.get("/v1/survey-integrity/rules", params={"org_code": "D2"}, headers=as_("DN"))).json()
        assert d2["set_by"] == "DN" and d2["flags"]["straight_line"] == {"on": True, "min_items": 5}
        assert d2["flags"]["speeder"]["on"] is True  # DN's rules are whole: OEM's switch is not in force at D2
        d3 = (await client.get("/v1/survey-integrity/rules", params={"org_code": "D3"}, headers=as_("OEM"))).json()
        assert d3["set_by"] == "OEM" and d3["flags"]["speeder"]["on"] is False
        assert d3["flags"]["straight_line"] == {"on": True, "min_items": 8}
    finally:
        for org in ("OEM", "DN"):
            assert (await rules(client, org)).status_code == 200


async def test_rules_are_set_above_the_dealers_and_inside_the_callers_tree(client: httpx.AsyncClient) -> None:
    assert (await rules(client, "D1")).status_code == 403  # a dealer tunes nothing
    assert (await client.get("/v1/survey-integrity/rules", params={"org_code": "D1"}, headers=as_("D1"))).status_code == 403
    assert (await rules(client, "D3", caller="DN")).status_code == 422  # another distributor's dealer
    assert (await rules(client, "NOPE", caller="DN")).status_code == 422
    assert (await client.get("/v1/survey-integrity/rules", params={"org_code": "D3"}, headers=as_("DN"))).status_code == 404
    bad = await client.put("/v1/survey-integrity/rules", headers=as_("DN"),
                           json={"org_code": "D1", "flags": {"speeder": {"min_share": 2}}})
    assert bad.status_code == 422
    unknown = await client.put("/v1/survey-integrity/rules", headers=as_("DN"),
                               json={"org_code": "D1", "flags": {"coached": {"on": False}}})
    assert unknown.status_code == 422
    every = (await client.get("/v1/survey-integrity/rules", params={"org_code": "D1"}, headers=as_("DN"))).json()
    assert set(every["flags"]) == set(EVERY_FLAG) and all(rule["on"] for rule in every["flags"].values())


# --- review and what the dealer sees ------------------------------------------------------------------


async def test_review_by_the_distributor_publishes_the_decision(client: httpx.AsyncClient, app: FastAPI,
                                                                survey: dict[str, Any]) -> None:
    flagged = await answered(client, app, survey, answers(4, [4] * 7))
    path = f"/v1/survey-responses/{flagged['id']}/review"
    assert (await client.post(path, json={"decision": "valid"}, headers=as_("D1"))).status_code == 403
    assert (await client.post(path, json={"decision": "valid"}, headers=as_("DS"))).status_code == 404
    assert (await client.post(path, json={"decision": "maybe"}, headers=as_("DN"))).status_code == 422
    hostile = await client.post(path, json={"decision": "invalid", "note": "a\x00b"}, headers=as_("DN"))
    assert hostile.status_code == 422 and hostile.headers["content-type"].startswith("application/problem+json")
    assert (await read(client, flagged["id"]))["integrity"]["status"] == "flagged"  # nothing changed
    reviewed = await client.post(path, json={"decision": "valid", "note": "called the customer"}, headers=as_("DN"))
    assert reviewed.status_code == 200, reviewed.text
    integrity = reviewed.json()["integrity"]
    assert integrity["status"] == "valid" and integrity["flags"] == ["straight_line"]
    assert integrity["review_note"] == "called the customer" and integrity["reviewed_at"] is not None
    [event] = [e for e in await outbox_events(app, "survey.response.reviewed") if e["response_id"] == flagged["id"]]
    assert event["integrity"] == {"status": "valid", "flags": ["straight_line"]} and event["reviewed_at"]
    assert event["dealer_code"] == "D1" and event["submitted_at"]
    # The manufacturer may overrule: invalid keeps it out for good.
    assert (await client.post(path, json={"decision": "invalid"}, headers=as_("OEM"))).json()["integrity"]["status"] == "invalid"


async def test_a_later_flag_does_not_reopen_a_reviewed_response(client: httpx.AsyncClient, app: FastAPI,
                                                                survey: dict[str, Any]) -> None:
    text = f"copied text {uuid.uuid4().hex}"
    first = await answered(client, app, survey, answers(note=text))
    assert (await client.post(f"/v1/survey-responses/{first['id']}/review", json={"decision": "valid"},
                              headers=as_("DN"))).status_code == 200
    await answered(client, app, survey, answers(note=text))
    assert flags(await answered(client, app, survey, answers(note=text))) == ["duplicate_text"]
    kept = (await read(client, first["id"]))["integrity"]
    assert (kept["status"], kept["flags"]) == ("valid", [])


async def test_a_dealer_never_sees_the_hashes_or_the_note(client: httpx.AsyncClient, app: FastAPI,
                                                         survey: dict[str, Any]) -> None:
    response = await answered(client, app, survey, answers(), headers=gateway(device="d" * 64, client="c" * 64))
    assert (response["integrity"]["device_hash"], response["integrity"]["client_hash"]) == ("d" * 64, "c" * 64)
    assert (await client.post(f"/v1/survey-responses/{response['id']}/review", json={"decision": "invalid", "note": "n"},
                              headers=as_("DN"))).status_code == 200
    own = await read(client, response["id"], caller="D1")
    assert own["integrity"]["status"] == "invalid"
    assert own["integrity"]["device_hash"] is own["integrity"]["client_hash"] is own["integrity"]["review_note"] is None
    listed = (await client.get("/v1/survey-responses", params={"limit": 200}, headers=as_("D1"))).json()["items"]
    assert listed and all(item["integrity"]["device_hash"] is None and item["integrity"]["client_hash"] is None
                          for item in listed)
    assert "d" * 64 not in (await client.get("/v1/survey-responses/export.csv", headers=as_("D1"))).text


async def test_erasure_takes_the_hashes_and_keeps_the_flags(client: httpx.AsyncClient, app: FastAPI,
                                                             survey: dict[str, Any]) -> None:
    response = await answered(client, app, survey, answers(4, [4] * 7, note=f"mine {uuid.uuid4().hex}"),
                              headers=gateway(device="e" * 64, client="f" * 64))
    assert await deliver(client, "customer.erased", {
        "dealer_code": "D1", "org_path": ORGS["D1"]["path"], "customer_id": response["customer_id"],
        "erased_at": utcnow().isoformat()}) == "applied"
    kept = (await read(client, response["id"]))["integrity"]
    assert (kept["device_hash"], kept["client_hash"], kept["flags"]) == (None, None, ["straight_line"])
    async with app.state.sessions() as session:
        assert (await session.get(SurveyResponse, uuid.UUID(response["id"]))).text_hash is None


# --- the per-dealer record and the review team's export ---------------------------------------------


async def test_the_integrity_record_per_dealer(client: httpx.AsyncClient, app: FastAPI, survey: dict[str, Any]) -> None:
    period = utcnow().strftime("%Y-%m")

    async def record() -> dict[str, Any]:
        got = await client.get("/v1/survey-integrity", params={"org_code": "DN", "period": period}, headers=as_("DN"))
        assert got.status_code == 200, got.text
        return {dealer["dealer_code"]: dealer for dealer in got.json()["dealers"]}

    before = (await record()).get("D2", {"responses": 0, "flagged": 0, "invalid": 0, "by_flag": {}})
    await answered(client, app, survey, answers(), dealer="D2")
    lined = await answered(client, app, survey, answers(4, [4] * 7), dealer="D2")
    await answered(client, app, survey, answers(4, [4] * 7), dealer="D2")
    await client.post(f"/v1/survey-responses/{lined['id']}/review", json={"decision": "invalid"}, headers=as_("DN"))
    after = (await record())["D2"]
    assert after["responses"] - before["responses"] == 3
    assert after["flagged"] - before["flagged"] == 1
    assert after["invalid"] - before["invalid"] == 1
    assert after["by_flag"]["straight_line"] - before["by_flag"].get("straight_line", 0) == 2
    assert "D3" not in await record()  # another distributor's dealer
    assert (await client.get("/v1/survey-integrity", params={"org_code": "DN", "period": period},
                             headers=as_("D1"))).status_code == 403
    assert (await client.get("/v1/survey-integrity", params={"org_code": "DN", "period": "2026-13"},
                             headers=as_("DN"))).status_code == 422
    csv = await client.get("/v1/survey-integrity/flagged.csv", params={"org_code": "DN", "period": period},
                           headers=as_("DN"))
    assert csv.status_code == 200 and csv.text.startswith("\ufeffresponse_id,")
    assert lined["id"] not in csv.text and "straight_line" in csv.text  # reviewed responses are done with


async def test_the_gateway_asks_for_a_links_dealer(client: httpx.AsyncClient, survey: dict[str, Any]) -> None:
    token = await token_of(client, await invite(client, survey["id"], "D2"))
    path = f"/internal/invitations/by-token/{token}/dealer"
    found = await client.get(path, headers={INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)})
    assert found.json() == {"dealer_code": "D2", "org_path": "/OEM/DN/D2/"}
    assert (await client.get(path)).status_code in (401, 403)
    assert (await client.get(path, headers=as_("DN"))).status_code == 403
    assert (await client.get("/internal/invitations/by-token/nope/dealer",
                             headers={INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)})).status_code == 404
