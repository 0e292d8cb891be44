"""Round trips to PostgreSQL per request, counted on the wire with warm caches (issue 12).

A GET of one customer pays BEGIN with the row-level-security setting (one message,
shared.rls.begin_with_setting), the SELECT and COMMIT: three.
No pool ping, and no relay pass after a request that recorded no event.
"""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.customer.conftest import clients_of, customer_body, running_customer_service
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url, terminate_connections
from tests.support.roundtrips import RoundTripCounter, counting_proxy

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")

GET_ROUND_TRIPS = 3


@pytest.fixture(scope="module")
def role_url() -> str:
    return app_role_url(postgres_base_url() or "")


@pytest.fixture(scope="module")
async def counted(role_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, RoundTripCounter]]:
    base = postgres_base_url() or ""
    await drop_postgres_databases(base, ["customer_roundtrips"])
    async with counting_proxy(f"{role_url.rsplit('/', 1)[0]}/{base.rsplit('/', 1)[1]}_customer_roundtrips") as (url, counter):
        # No timed job either: the holiday pass at start would land in the count on a loaded machine.
        async with running_customer_service(url, relay_interval_seconds=3600, holiday_job_enabled=False) as app, \
                clients_of(app) as make:
            app.state.relay.start()  # woken by writes only; its hourly pass stays out of the count
            yield make("DLR-0042"), counter
            await app.state.relay.stop()


async def test_a_get_of_one_customer_costs_three_round_trips(counted: tuple[httpx.AsyncClient, RoundTripCounter]) -> None:
    client, counter = counted
    created = (await client.post("/v1/customers", json=customer_body())).json()
    for _ in range(10):  # warm: pool connections, prepared statements, caches
        assert (await client.get(f"/v1/customers/{created['id']}")).status_code == 200
    await counter.until_quiet()  # the relay's pass the POST woke
    counter.reset()
    for _ in range(5):
        assert (await client.get(f"/v1/customers/{created['id']}")).status_code == 200
    await counter.until_quiet()  # a relay pass a GET woke would come after its linger: counted too
    assert counter.count / 5 <= GET_ROUND_TRIPS, f"{counter.count / 5} round trips per GET"


async def test_a_request_after_its_connection_was_killed_still_succeeds(
        counted: tuple[httpx.AsyncClient, RoundTripCounter]) -> None:
    """Without a pool ping, the first statement finds a dead connection; the request starts again
    on a fresh one (shared.service_app.begun_session) instead of answering 500 or 503."""
    client, _ = counted
    created = (await client.post("/v1/customers", json=customer_body())).json()
    assert (await client.get(f"/v1/customers/{created['id']}")).status_code == 200
    killed = await terminate_connections(postgres_base_url() or "", "customer_roundtrips")
    assert killed >= 1
    for _ in range(3):
        assert (await client.get(f"/v1/customers/{created['id']}")).status_code == 200
