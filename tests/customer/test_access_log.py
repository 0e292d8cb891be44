"""One access line per request: the id a client reports finds its request, the org, the route
template (never an id or a token), the status and the time it took."""

import logging
from typing import Any

import httpx
import pytest

from tests.customer.conftest import ClientFactory, customer_body


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [record.msg for record in caplog.records
            if record.name == "csloop.access" and isinstance(record.msg, dict)]


async def test_a_request_id_leads_to_one_access_line(client_for: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    dealer = client_for("DLR-0042")
    created = await dealer.post("/v1/customers", json=customer_body())
    caplog.set_level(logging.INFO, logger="csloop.access")
    answer = await dealer.get(f"/v1/customers/{created.json()['id']}", headers={"X-Request-ID": "dms-trace-42"})
    assert answer.headers["x-request-id"] == "dms-trace-42"
    (line,) = [line for line in access_lines(caplog) if line.get("request_id") == "dms-trace-42"]
    assert line["event"] == "request" and line["method"] == "GET" and line["status"] == 200
    assert line["route"] == "/v1/customers/{customer_id}" and line["org"] == "DLR-0042"
    assert isinstance(line["duration_ms"], float)


async def test_a_refused_request_is_logged_with_its_status(client_for: ClientFactory,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="csloop.access")
    anonymous: httpx.AsyncClient = client_for(None)
    answer = await anonymous.get("/v1/customers", headers={"X-Request-ID": "no-token-7"})
    assert answer.status_code == 401
    (line,) = [line for line in access_lines(caplog) if line.get("request_id") == "no-token-7"]
    assert line["status"] == 401 and "org" not in line
