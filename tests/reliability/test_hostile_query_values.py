"""Hostile values in the query parameters of the read operations that take an org and a period
(the KPI reads, generated from the gateway's OpenAPI): a 4xx problem or an answer, never a 5xx."""

import pytest

from tests.reliability.test_bola_org_code_queries import VALUES, define_scheme, org_code_operations
from tests.reliability.test_hostile_inputs import CONTROL, SQL, problem
from tests.support.suite import Network

pytestmark = pytest.mark.e2e

HOSTILE = [*SQL, *CONTROL, "x" * 2000, "", " ", "../..", "%00", "2026-00", "2026-Q5", "9999-12", "0000", "-1"]


def test_hostile_query_values_are_refused_or_answered(network: Network) -> None:
    caller = network.manufacturer
    define_scheme(network)
    failures = []
    for path, required in org_code_operations(network):
        valid = {name: VALUES[name] for name in required}
        for name in (*required, "org_code"):
            for value in HOSTILE:
                response = caller.client.get(path, params={**valid, name: value})
                if response.status_code >= 500 or (response.status_code >= 400 and not problem(response)):
                    failures.append(f"GET {path} {name}={value[:30]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)


def test_hostile_lifecycle_and_segment_filters_are_refused(network: Network) -> None:
    """The customer list's issue-16 filters take their enumerations only: anything else is a 422
    problem naming the parameter, never a 5xx, never ignored."""
    failures = []
    distributor = network.org("distributor")
    for caller in (network.manufacturer, network.org("dealer", parent=distributor)):
        for name in ("lifecycle", "segment"):
            for value in [*HOSTILE, "LAPSED", "at_risk,lapsed"]:
                response = caller.client.get("/v1/customers", params={name: value})
                if response.status_code != 422 or not problem(response):
                    failures.append(f"GET /v1/customers {name}={value[:30]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
