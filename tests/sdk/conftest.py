"""The live SDK tests' callers: a dealer of its own (under a distributor) and the manufacturer, each
with an SDK client on the suite started as processes (the session's `network`)."""

from collections.abc import Iterator

import pytest

from csloop_sdk import CSLoop
from tests.support.suite import Network, Org


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


@pytest.fixture(scope="module")
def api(network: Network, dealer: Org) -> Iterator[CSLoop]:
    with CSLoop(network.url, api_key=dealer.key) as client:
        yield client


@pytest.fixture(scope="module")
def admin(network: Network) -> Iterator[CSLoop]:
    with CSLoop(network.url, api_key=network.manufacturer.key) as client:
        yield client
