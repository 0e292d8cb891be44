"""The BOLA matrix of the operations that name an org in a query (`org_code`), generated from the
gateway's OpenAPI: the KPI reads, the held-out FIR list, the recalls and any added later (a path id
names a shared record every caller may read: a recall's progress is asked of a real recall).

Tree: manufacturer > distributors D and E; D > dealers A and B. A sibling, a cousin, or a child
naming an org outside its subtree gets the answer an unknown code gets (same status, same body:
no existence oracle), never 200; a parent naming a child gets 200 (a dealer-level caller of an
operation reviewed above the dealers gets 403 whatever it names).
"""

import re
import uuid

import httpx
import pytest

from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

# A valid value for every other query parameter such an operation may require.
VALUES = {"period": "2026-01", "kpi": "csi", "kind": "csi", "from": "2026-01", "to": "2026-03", "level": "dealer",
          "scheme": "MATRIX"}


def recall(network: Network) -> str:
    """A recall of the manufacturer's (read by its whole network): the record /v1/recalls/{recall_code}/... names."""
    code = f"RC-ORGQ-{uuid.uuid4().hex[:8]}"
    made = network.manufacturer.client.post("/v1/recalls", json={"code": code, "title": "Matrix", "remedy_op_code": "M1"})
    assert made.status_code == 201, made.text
    return code


def org_code_operations(network: Network) -> list[tuple[str, list[str]]]:
    schema = httpx.get(f"{network.url}/openapi.json", timeout=30).json()
    # Path ids name shared records every caller may read, so only `org_code` decides the answer.
    records = {"recall_code": recall(network)}
    out = []
    for path, item in schema["paths"].items():
        parameters = item.get("get", {}).get("parameters", [])
        if any(p["in"] == "query" and p["name"] == "org_code" for p in parameters):
            # org_code is what the test varies: never among the values it fills in.
            required = [p["name"] for p in parameters
                        if p["in"] == "query" and p.get("required") and p["name"] != "org_code"]
            out.append((re.sub(r"\{(\w+)\}", lambda m: records[m[1]], path), required))
    return sorted(out)


def define_scheme(network: Network) -> None:
    """The manufacturer's evaluation scheme VALUES names (/v1/evaluations): each call adds a version."""
    answer = network.manufacturer.client.put(f"/v1/evaluation-schemes/{VALUES['scheme']}", json={
        "title": "Matrix", "tiers": [], "elements": [{"code": "CS", "title": "CS", "weight": 1, "kpis": [
            {"kpi": "csi", "weight": 1, "floor": 60, "ceiling": 100}]}]})
    assert answer.status_code == 200, answer.text


def ask(caller: Org, path: str, required: list[str], org_code: str) -> httpx.Response:
    return caller.client.get(path, params={**{name: VALUES[name] for name in required}, "org_code": org_code})


def comparable(response: httpx.Response) -> tuple[int, dict]:
    return response.status_code, response.json()


def test_an_org_outside_the_callers_subtree_is_answered_as_unknown(network: Network) -> None:
    operations = org_code_operations(network)
    assert "/v1/kpi/fir-held-out" in [path for path, _ in operations] and len(operations) >= 6
    missing = {name for _, required in operations for name in required} - set(VALUES)
    assert not missing, f"add a valid value for {missing}"
    d, e = network.org("distributor"), network.org("distributor")
    a, b = network.org("dealer", d), network.org("dealer", d)
    define_scheme(network)
    failures = []
    for path, required in operations:
        for who, caller, foreign in (("sibling", b, a), ("cousin", e, d), ("cousin", e, a), ("child", a, d)):
            answer, unknown = ask(caller, path, required, foreign.code), ask(caller, path, required, "NOPE-0000")
            if answer.status_code == 200 or comparable(answer) != comparable(unknown):
                failures.append(f"{who} {path}: {answer.status_code} {answer.text[:100]} vs unknown {unknown.status_code}")
        for parent, child in ((d, a), (network.manufacturer, a), (network.manufacturer, d)):
            answer = ask(parent, path, required, child.code)
            if answer.status_code != 200:
                failures.append(f"parent {path}: {answer.status_code} {answer.text[:100]}")
    assert not failures, "\n".join(failures)
