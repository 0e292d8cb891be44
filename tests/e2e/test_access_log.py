"""An X-Request-ID a DMS reports finds its request in every process it crossed: one access line
each in the gateway's and the customer service's logs, with the caller's org."""

import json
import time
import uuid

import pytest

from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def access_lines(network: Network, process: str, request_id: str) -> list[dict]:
    log = network.suite.data_dir / "logs" / f"{process}.log"
    lines = [json.loads(line) for line in log.read_text(errors="replace").splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("request_id") == request_id and line.get("event") == "request"]


def test_one_request_id_one_access_line_per_process(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    request_id = f"dms-{uuid.uuid4().hex}"
    answer = dealer.client.get("/v1/customers", headers={"X-Request-ID": request_id})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (access_lines(network, "gateway", request_id)
                                               and access_lines(network, "customer", request_id)):
        time.sleep(0.2)
    (gateway,) = access_lines(network, "gateway", request_id)
    (service,) = access_lines(network, "customer", request_id)
    for line in (gateway, service):
        assert line["org"] == dealer.code and line["method"] == "GET" and line["status"] == 200
    assert service["route"] == "/v1/customers"


def test_proxied_paths_are_logged_without_ids_or_survey_tokens(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    secret_token = uuid.uuid4().hex
    request_ids = {f"dms-{uuid.uuid4().hex}": f"/v1/customers/{uuid.uuid4()}",
                   f"page-{uuid.uuid4().hex}": f"/v1/public/surveys/{secret_token}"}
    for request_id, path in request_ids.items():
        dealer.client.get(path, headers={"X-Request-ID": request_id})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(access_lines(network, "gateway", r) for r in request_ids):
        time.sleep(0.2)
    routes = sorted(access_lines(network, "gateway", r)[0]["route"] for r in request_ids)
    assert routes == ["/v1/customers/{id}", "/v1/public/surveys/{token}"]
    assert secret_token not in (network.suite.data_dir / "logs" / "gateway.log").read_text(errors="replace")
