"""Round trips to PostgreSQL per public survey submission, counted on the wire (issue 12),
and the claim that makes them few.

With warm caches (the pinned version and the survey code never change once published), a
submission pays BEGIN with the row-level-security setting (one message, shared.rls.begin_with_setting),
the claim of the invitation (one `UPDATE ... RETURNING`, which also reads the integrity rules in
force), the response INSERT (whose RETURNING counts the same dealer's responses from its device
and with its free text) with the outbox INSERT of its events in its WITH, and COMMIT: four. A
response a history rule flags pays an UPDATE and the outbox INSERT more. The claim
is also what keeps one response per invitation when two submissions of a token race.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url, terminate_connections
from tests.support.roundtrips import RoundTripCounter, counting_proxy
from tests.survey.conftest import as_, integrity_off, invite, new_code, published_survey, survey_app, token_of

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")

SUBMISSION_ROUND_TRIPS = 4
ROWS = {"initiation": ["appointment", "greeting"],
        "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
        "facility": ["cleanliness", "comfort", "amenities"],
        "pickup": ["on_time", "explanation", "payment", "cleanliness"],
        "quality": ["diagnosis", "fixed_right", "complete"]}


def csi_answers(score: int, nps: int) -> dict[str, Any]:
    answers: dict[str, Any] = {code: {row: score for row in rows} for code, rows in ROWS.items()}
    answers |= {"fixed_first_time": "yes", "nps": nps}
    if nps <= 6:
        answers["nps_reason"] = "等了两个小时"
    return answers


Tokens = Callable[[int], Awaitable[list[str]]]


@pytest.fixture(scope="module")
def role_url() -> str:
    return app_role_url(postgres_base_url() or "")


@pytest.fixture(scope="module")
async def counted(role_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, RoundTripCounter, Tokens]]:
    await drop_postgres_databases(postgres_base_url() or "", ["survey_roundtrips"])
    async with counting_proxy(f"{role_url}_survey_roundtrips") as (url, counter):
        app = survey_app(url, log_level="WARNING")
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://survey") as client:
            survey = await published_survey(client, {"template": "csi", "code": new_code()})
            await integrity_off(client)  # the same answers again and again: scripted, not coached

            async def tokens(count: int) -> list[str]:
                return [await token_of(client, await invite(client, survey["id"])) for _ in range(count)]

            yield client, counter, tokens


async def submit(client: httpx.AsyncClient, token: str, answers: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers})


async def test_a_public_submission_costs_four_round_trips(
        counted: tuple[httpx.AsyncClient, RoundTripCounter, Tokens]) -> None:
    client, counter, tokens = counted
    warm, measured = await tokens(5), await tokens(5)
    for token in warm:  # pool connections, prepared statements, the version and survey-code caches
        assert (await submit(client, token, csi_answers(9, nps=9))).status_code == 201
    counter.reset()
    for token in measured:
        assert (await submit(client, token, csi_answers(9, nps=9))).status_code == 201
    assert counter.count / len(measured) <= SUBMISSION_ROUND_TRIPS, f"{counter.count / len(measured)} per submission"


async def test_a_submission_that_raises_an_alert_costs_no_more(
        counted: tuple[httpx.AsyncClient, RoundTripCounter, Tokens]) -> None:
    """The alert is a second outbox row of the same INSERT, not a statement of its own."""
    client, counter, tokens = counted
    measured = await tokens(3)
    await submit(client, (await tokens(1))[0], csi_answers(2, nps=2))
    counter.reset()
    for token in measured:
        submitted = await submit(client, token, csi_answers(2, nps=2))
        assert submitted.status_code == 201
    assert counter.count / len(measured) <= SUBMISSION_ROUND_TRIPS, f"{counter.count / len(measured)} per submission"
    stored = await client.get(f"/v1/survey-responses/{submitted.json()['id']}", headers=as_("OEM"))
    assert stored.json()["alerts"], "a detractor's response raises an alert"


async def test_the_same_token_is_claimed_once(counted: tuple[httpx.AsyncClient, RoundTripCounter, Tokens]) -> None:
    client, _, tokens = counted
    token = (await tokens(1))[0]
    first = await submit(client, token, csi_answers(8, nps=8))
    assert first.status_code == 201
    again = await submit(client, token, csi_answers(8, nps=8))
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert (await submit(client, token, csi_answers(3, nps=8))).status_code == 409
    assert (await submit(client, uuid.uuid4().hex, csi_answers(8, nps=8))).status_code == 404


async def test_two_submissions_of_one_token_at_once_store_one_response(
        counted: tuple[httpx.AsyncClient, RoundTripCounter, Tokens]) -> None:
    """The second claim waits for the first's transaction, then finds the invitation answered."""
    client, _, tokens = counted
    same, different = await tokens(2)
    replayed = await asyncio.gather(*(submit(client, same, csi_answers(7, nps=7)) for _ in range(2)))
    assert sorted(answer.status_code for answer in replayed) == [200, 201]
    assert replayed[0].json()["id"] == replayed[1].json()["id"]
    raced = await asyncio.gather(submit(client, different, csi_answers(7, nps=7)),
                                 submit(client, different, csi_answers(2, nps=2)))
    assert sorted(answer.status_code for answer in raced) == [201, 409]


async def test_a_submission_after_its_connection_was_killed_still_succeeds(
        counted: tuple[httpx.AsyncClient, RoundTripCounter, Tokens]) -> None:
    """The submission runs on a pooled connection's driver without a ping: one the server closed
    fails at BEGIN and is replaced (shared.db.driver_transaction), the answer is still a 201."""
    client, _, tokens = counted
    warm, after = await tokens(1), await tokens(3)
    assert (await submit(client, warm[0], csi_answers(9, nps=9))).status_code == 201
    killed = await terminate_connections(postgres_base_url() or "", "survey_roundtrips")
    assert killed >= 1
    for token in after:
        assert (await submit(client, token, csi_answers(9, nps=9))).status_code == 201
