"""shared/replicas.py: replicas named by one setting are taken in turn, and one that refuses a
connection is skipped without the caller seeing an error."""

import httpx
import pytest

from shared.replicas import ReplicaSet, ReplicaTransport, replica_client, replica_urls
from tests.support.replica_servers import replicas

TIMEOUT = httpx.Timeout(2.0, connect=1.0)


def test_a_setting_names_replicas_comma_separated() -> None:
    assert replica_urls(" http://a:1/ ,http://b:2,, ") == ["http://a:1", "http://b:2"]
    assert replica_urls(None) == [] and replica_urls("") == []


def test_replicas_are_taken_in_turn_and_one_marked_down_comes_last() -> None:
    replicas = ReplicaSet(["http://a", "http://b", "http://c"])
    assert [replicas.pick() for _ in range(4)] == ["http://a", "http://b", "http://c", "http://a"]
    replicas.mark_down("http://c", seconds=60)
    assert replicas.in_turn() == ["http://b", "http://a", "http://c"]
    assert replicas.in_turn() == ["http://a", "http://b", "http://c"]
    replicas.mark_up("http://c")
    assert not replicas.is_down("http://c")
    with pytest.raises(ValueError):
        ReplicaSet([])


async def test_one_url_needs_no_replica_transport() -> None:
    async with replica_client("http://127.0.0.1:1", timeout=TIMEOUT) as client:
        assert not isinstance(client._transport, ReplicaTransport)


async def test_requests_alternate_between_replicas() -> None:
    async with replicas(2) as (one, two), replica_client(f"{one.url},{two.url}", timeout=TIMEOUT) as client:
        answered = [(await client.get(f"/internal/x/{n}")).json()["replica"] for n in range(10)]
    assert answered.count(0) == answered.count(1) == 5


async def test_a_replica_refusing_connections_is_skipped_and_posts_are_not_lost() -> None:
    async with replicas(2) as (one, two), replica_client(f"{one.url},{two.url}", timeout=TIMEOUT) as client:
        await two.stop()
        answers = [await client.post("/internal/staff/known", json={"n": n}) for n in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        assert {a.json()["replica"] for a in answers} == {0}
        assert len(one.served) == 10  # each POST sent once, to the replica that took it
        await one.stop()
        with pytest.raises(httpx.ConnectError):
            await client.get("/internal/anything")


def test_survey_links_go_to_the_first_gateway_when_the_setting_names_several() -> None:
    from services.survey.settings import SurveySettings

    settings = SurveySettings(gateway_url="http://127.0.0.1:9000,http://127.0.0.1:9010")
    assert settings.link_base == "http://127.0.0.1:9000"
