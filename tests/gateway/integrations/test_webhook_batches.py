"""A relay's batch fanned out together (issue 12 item 5): one subscriptions query for the batch,
one insert of its deliveries, each event id once; on PostgreSQL a constant number of round
trips whatever the batch's size."""

import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.identity.bootstrap import MIGRATIONS, bootstrap
from gateway.settings import GatewaySettings
from shared.events import new_event
from shared.migrations import upgrade
from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, running_gateway, unique_code
from tests.gateway.integrations.conftest import org_event, publish
from tests.gateway.integrations.test_webhooks import deliveries, subscribe
from tests.gateway.integrations.receiver import Receiver
from tests.support.databases import drop_postgres_databases, postgres_base_url
from tests.support.roundtrips import RoundTripCounter, counting_proxy

# BEGIN, the org setting, the processed-event ids, the subscriptions of every org path the batch
# reaches, the deliveries, COMMIT. (Before: 7 for 10 events, a new ORM INSERT's text to prepare
# for each batch size; one by one, a subscriptions query per event.)
WEBHOOK_BATCH_ROUND_TRIPS = 6


async def test_a_batch_queues_each_matching_delivery_once(net: OrgTree, receiver: Receiver,
                                                          hooks_settings: GatewaySettings) -> None:
    customers = await subscribe(net, "dlr11", receiver.answer(f"/dms/{uuid.uuid4().hex}"), ["customer."])
    surveys = await subscribe(net, "d1", receiver.answer(f"/dms/{uuid.uuid4().hex}"), ["survey."])
    ours = [org_event(net, "d1", "dlr11") for _ in range(3)]
    survey = org_event(net, "d1", "dlr11", type_="survey.response.submitted")
    batch = [*ours, survey, org_event(net, "d1", "dlr12"), new_event("/csloop/customer", "customer.created", None, {})]
    outcomes = (await publish(net.client, hooks_settings, *batch, ours[0])).json()["outcomes"]
    assert set(outcomes.values()) == {"applied"} and len(outcomes) == len(batch)
    assert set((await publish(net.client, hooks_settings, *batch)).json()["outcomes"].values()) == {"duplicate"}
    assert sorted(d["event_id"] for d in await deliveries(net, "dlr11", customers["id"])) == sorted(e.id for e in ours)
    assert [d["event_id"] for d in await deliveries(net, "d1", surveys["id"])] == [survey.id]


@pytest.fixture(scope="module")
async def counted() -> AsyncIterator[tuple[OrgTree, GatewaySettings, RoundTripCounter]]:
    base = postgres_base_url() or ""
    await drop_postgres_databases(base, ["webhooks_roundtrips"])
    direct = f"{base}_webhooks_roundtrips"
    await upgrade(direct, MIGRATIONS)
    async with counting_proxy(direct) as (url, counter):
        # No dispatcher: its passes are transactions of their own, not the batch's round trips.
        settings = GatewaySettings(database_url=url, log_json=False, log_level="WARNING",
                                   webhooks_allow_private_targets=True, webhooks_dispatcher_enabled=False)
        async with running_gateway(settings) as client:
            root = unique_code("M")
            tree = OrgTree(client, root, (await bootstrap(direct, root, "Test Motors"))["api_key"])
            await tree.add_org("d1", "distributor", "root")
            await tree.add_org("dlr11", "dealer", "d1")
            for label in ("d1", "dlr11"):
                tree.admin_keys[label] = await tree.key_for(label, ["orgs:admin", "webhooks:admin", *ALL_SCOPES_BUT_ADMIN])
            yield tree, settings, counter


@pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")
async def test_a_batch_costs_the_same_round_trips_whatever_its_size(counted) -> None:
    tree, settings, counter = counted
    await subscribe(tree, "dlr11", "http://127.0.0.1:9/hook", ["customer."])
    await subscribe(tree, "d1", "http://127.0.0.1:9/hook", ["customer.created"])
    await publish(tree.client, settings, *(org_event(tree, "d1", "dlr11") for _ in range(20)))  # warm
    for size in (10, 200):
        counter.reset()
        await publish(tree.client, settings, *(org_event(tree, "d1", "dlr11") for _ in range(size)))
        assert counter.count <= WEBHOOK_BATCH_ROUND_TRIPS
