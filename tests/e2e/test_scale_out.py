"""Two replicas of every process on PostgreSQL and NATS JetStream (issue 19 items 1 and 5).

The mixed load of bench/load_mixed.py runs for 60 seconds through both gateways (taken in turn,
as a load balancer would); during it one replica of each service and one gateway is killed with
SIGKILL and not started again. Then, once every outbox and every durable consumer is drained, the
audit of bench/faults.py reads the databases: every accepted write stored once, every event's
effect once, the KPI figures equal to the records. The only failed requests allowed are those in
flight on a process while it was being killed: from the signal until the kernel has closed its
sockets (the process reaped) and the callers' event loops have seen them close (KILL_GRACE). In
that window the kernel still completes connections on the dying process's listening socket, so a
request begun just after the signal can be taken down too; after it, a replica's connection is
refused and the caller goes on to the next.
"""

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from bench.faults import Databases, audit
from bench.load_mixed import Ledger, MixedLoad, prepare
from cli.topology import urls_of
from cli.up import Suite
from tests.cli.fake_server import fake_server
from tests.conftest import running_network
from tests.support.databases import postgres_base_url
from tests.support.polling import eventually
from tests.support.suite import Network, delete_nats_stream

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="replicas share one PostgreSQL database per service")

LOAD_SECONDS = 60
LOAD_RATE = 8.0  # operations started per second: ten processes and the load share two cores in CI
# (seconds into the load, process): a second replica and a first one (which migrated its database)
KILLS = ((8, "customer-1"), (18, "survey"), (28, "complaint-1"), (38, "kpi"), (48, "gateway-1"))
DURABLES = ("gateway", "customer", "survey", "complaint", "kpi")
WEBHOOK_TIMEOUT = 150.0
KILL_GRACE = 0.25  # seconds after the reaping: a pooled connection's end reaches its owner's loop


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    run = uuid.uuid4().hex[:10]
    transport = {"CSLOOP_EVENT_TRANSPORT": "nats", "CSLOOP_NATS_STREAM": f"SCALE_{run}",
                 "CSLOOP_NATS_SUBJECT_PREFIX": f"scale.{run}",
                 # The gateways' rate-limit buckets, shared (deploy/CACHES.md), under a prefix of this run.
                 "CSLOOP_REDIS_URL": "redis://127.0.0.1:6379/0", "CSLOOP_REDIS_KEY_PREFIX": f"scale:{run}:"}
    with running_network(tmp_path_factory.mktemp("replicated"), "e2e_scale", transport, replicas=2) as network:
        network.stream = transport["CSLOOP_NATS_STREAM"]  # type: ignore[attr-defined]
        yield network
    asyncio.run(delete_nats_stream(transport["CSLOOP_NATS_STREAM"]))


def served(url: str) -> int:
    """Requests to /v1 routes a process has answered, from its own /metrics."""
    metrics = httpx.get(url + "/metrics", timeout=5).text
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()
               if line.startswith("csloop_http_requests_total{") and 'route="/v1/' in line)


def test_both_gateways_answer_the_same_and_every_replica_takes_its_share(replicated: Network) -> None:
    suite = replicated.suite
    gateways = urls_of(suite.components[0], suite.port_base, 2).split(",")
    key = {"Authorization": f"Bearer {replicated.manufacturer.key}"}
    answers = [httpx.get(f"{url}/v1/orgs/{replicated.manufacturer.code}", headers=key, timeout=10) for url in gateways]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json() == answers[1].json()
    dealer = replicated.org("dealer", replicated.org("distributor"))
    customer = next(c for c in suite.components if c.name == "customer")
    replicas = urls_of(customer, suite.port_base, 2).split(",")
    before = [served(url) for url in replicas]
    for n in range(8):  # customers, then reads through the gateway: round robin over both customer replicas
        made = dealer.client.post("/v1/customers", json={"dealer_code": dealer.code, "name": f"副本客户{n}",
                                                         "phone": f"1390000{n:04d}"})
        assert made.status_code == 201, made.text
        assert dealer.client.get(f"/v1/customers/{made.json()['id']}").status_code == 200  # created, then read: next call
    shares = [served(url) - earlier for url, earlier in zip(replicas, before, strict=True)]
    # Round robin: 8 each of these 16, give or take what else reached the customer service meanwhile.
    assert sum(shares) >= 16 and all(6 <= share <= 10 for share in shares), shares


async def drained_consumers(stream: str, timeout: float = 180.0) -> None:
    """Until every service's durable consumer has nothing pending or unacknowledged: a message a
    killed replica took and never acknowledged comes back to the other after the ack wait."""
    connection = await nats.connect("nats://127.0.0.1:4222")
    try:
        jetstream = connection.jetstream()
        deadline = time.monotonic() + timeout
        while True:
            infos = [await jetstream.consumer_info(stream, durable) for durable in DURABLES]
            if all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos):
                return
            assert time.monotonic() < deadline, {i.name: (i.num_pending, i.num_ack_pending) for i in infos}
            await asyncio.sleep(1.0)
    finally:
        await connection.close()


def test_killing_a_replica_of_everything_under_load_loses_nothing_and_does_nothing_twice(
        replicated: Network, artifacts_dir: Path) -> None:
    suite = replicated.suite
    dealers, survey = prepare(replicated, dealers=2, customers_per_dealer=150)
    load = MixedLoad(urls_of(suite.components[0], suite.port_base, 2), dealers)
    load.survey_id, load.owner_key = survey, replicated.manufacturer.key
    with fake_server() as dms:  # each dealer's DMS takes its closed repair orders as webhooks
        for dealer in dealers:
            hook = httpx.post(replicated.url + "/v1/webhooks", headers={"Authorization": f"Bearer {dealer.key}"}, json={
                "url": f"{dms.url}/{dealer.code}", "org_code": dealer.code, "event_types": ["service_visit.closed"]})
            assert hook.status_code == 201, hook.text
        load_began = time.perf_counter()
        ledger, kill_windows = under_kills(suite, load)
        checks = asyncio.run(audited(replicated, ledger, load.month))
        closed = {ro for _, ro in ledger.accepted["repair_order"]}

        def webhooks_of_closed() -> list[dict] | None:
            hooks = [hook for hook in map(json.loads, (r.body for r in list(dms.received)))
                     if hook["data"]["ro_number"] in closed]
            return hooks if {hook["data"]["ro_number"] for hook in hooks} == closed else None

        # A delivery the killed gateway had claimed is sent by the other once its lease runs out.
        webhooks = eventually(webhooks_of_closed, "a webhook for every closed repair order", WEBHOOK_TIMEOUT)
    (artifacts_dir / "scale-out-audit.json").write_text(json.dumps(checks, indent=1, default=str))
    assert all(check["ok"] for check in checks.values()), {name: c for name, c in checks.items() if not c["ok"]}
    # Webhooks are at least once (a gateway killed mid-send sends again): one event id per repair
    # order, which a DMS uses to drop a repeat.
    assert len({hook["id"] for hook in webhooks}) == len(closed)

    report = ledger.report()
    unexplained = [(kind, outcome, round(started - load_began, 3), round(ended - load_began, 3))
                   for kind, outcome, started, ended in ledger.failures
                   if not any(started <= reaped + KILL_GRACE and ended >= signalled for _, signalled, reaped in kill_windows)]
    windows = [(name, round(signalled - load_began, 3), round(reaped - load_began, 3)) for name, signalled, reaped in kill_windows]
    (artifacts_dir / "scale-out-kills.json").write_text(json.dumps(
        {"kill_windows": windows, "failed": len(ledger.failures), "failed_outside_kill_windows": unexplained,
         "webhooks_received": len(webhooks), "repair_orders_closed": len(closed), **report}, indent=1))
    assert not unexplained, {"failed outside the kill windows": unexplained, "kill windows": windows,
                             "5xx answered": answered_5xx(suite)}
    accepted = sum(kind["outcomes"].get("ok", 0) for kind in report["kinds"].values())
    assert accepted >= LOAD_RATE * LOAD_SECONDS * 0.5, report  # the load ran through the kills


def under_kills(suite: Suite, load: MixedLoad) -> tuple[Ledger, list[tuple[str, float, float]]]:
    """The load, while a thread kills the processes of KILLS on schedule; each kill's window
    (process, signalled, reaped) on time.perf_counter, the load's clock."""
    kill_windows: list[tuple[str, float, float]] = []

    def kill_on_schedule() -> None:
        started = time.perf_counter()
        for at, name in KILLS:
            time.sleep(max(0.0, started + at - time.perf_counter()))
            signalled = time.perf_counter()
            os.kill(suite.processes[name].pid, signal.SIGKILL)
            suite.processes[name].wait()
            kill_windows.append((name, signalled, time.perf_counter()))

    killer = threading.Thread(target=kill_on_schedule)
    killer.start()
    ledger = asyncio.run(load.run(LOAD_RATE, LOAD_SECONDS))
    killer.join()
    assert all(suite.processes[name].poll() is not None for _, name in KILLS)
    return ledger, kill_windows


def answered_5xx(suite: Suite) -> list[str]:
    """Every request a process of the suite logged with a 5xx status: where a failure came from."""
    return [f"{log.stem}: {line}" for log in sorted((suite.data_dir / "logs").glob("*.log"))
            for line in log.read_text(errors="replace").splitlines() if '"status": 5' in line]


async def audited(network: Network, ledger: Ledger, month: str) -> dict:
    """bench/faults.py's audit, once every durable consumer and outbox is drained and the KPI facts settle."""
    await drained_consumers(network.stream)  # type: ignore[attr-defined]
    db = Databases(network.suite, superuser_base=postgres_base_url() + "_e2e_scale")
    await db.settled()
    return await audit(db, ledger, month)
