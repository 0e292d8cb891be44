"""The SDK's request plumbing against a scripted server (httpx.MockTransport): retries,
Idempotency-Key, Retry-After, If-Match and the typed problems. No suite needed."""

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

import csloop_sdk
from csloop_sdk import CSLoop

PROBLEM = "application/problem+json"
CUSTOMER = {"id": "c1", "external_id": None, "dealer_code": "D1", "org_path": "OEM.D1", "name": "张伟", "phone": None,
            "email": None, "birth_date": None, "city": None, "consent": {}, "erased": False, "version": 3,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def scripted(*answers: httpx.Response) -> tuple[CSLoop, list[httpx.Request], list[float]]:
    """A client whose server gives `answers` in turn; returns it, the requests it sent and its sleeps."""
    requests: list[httpx.Request] = []
    sleeps: list[float] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return queue.pop(0)

    client = CSLoop("http://csloop.test", api_key="csk_test", transport=httpx.MockTransport(handle),
                    sleep=sleeps.append, max_retries=2, max_retry_wait=10)
    return client, requests, sleeps


def problem(status: int, headers: dict[str, str] | None = None, **extra: object) -> httpx.Response:
    body = {"type": f"https://csloop.dev/problems/{status}", "title": "t", "status": status, "detail": "d", **extra}
    return httpx.Response(status, json=body, headers={"Content-Type": PROBLEM, **(headers or {})})


def test_a_create_carries_an_idempotency_key_and_a_retry_sends_the_same_one() -> None:
    client, requests, sleeps = scripted(httpx.Response(429, headers={"Retry-After": "2"}, json={"status": 429}),
                                        httpx.Response(503, json={"status": 503}),
                                        httpx.Response(201, json=CUSTOMER))
    created = client.customers.create(dealer_code="D1", name="张伟")
    assert created.id == "c1" and created.version == 3
    keys = {request.headers["Idempotency-Key"] for request in requests}
    assert len(requests) == 3 and len(keys) == 1 and keys != {""}
    assert sleeps == [2.0, 1.0]  # Retry-After when given; backoff otherwise
    assert json.loads(requests[0].content) == {"dealer_code": "D1", "name": "张伟"}


def test_a_given_idempotency_key_is_sent_and_reads_carry_none() -> None:
    client, requests, _ = scripted(httpx.Response(201, json=CUSTOMER), httpx.Response(200, json=CUSTOMER))
    client.customers.create(dealer_code="D1", name="x", idempotency_key="dms-row-42")
    client.customers.get("c1")
    assert requests[0].headers["Idempotency-Key"] == "dms-row-42"
    assert "Idempotency-Key" not in requests[1].headers


def test_retries_are_bounded_and_the_last_answer_is_raised_typed() -> None:
    client, requests, sleeps = scripted(*(problem(429, headers={"Retry-After": "600"}) for _ in range(3)))
    with pytest.raises(csloop_sdk.RateLimited) as raised:
        client.customers.get("c1")
    assert len(requests) == 3 and sleeps == [10, 10]  # capped at max_retry_wait
    assert raised.value.retry_after == 600


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    client, _, sleeps = scripted(httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200, json=CUSTOMER))
    client.customers.get("c1")
    assert 3 < sleeps[0] <= 5


@pytest.mark.parametrize("status, kind", [
    (400, csloop_sdk.BadRequest), (401, csloop_sdk.Unauthorized), (403, csloop_sdk.Forbidden),
    (404, csloop_sdk.NotFound), (409, csloop_sdk.Conflict), (412, csloop_sdk.PreconditionFailed),
    (422, csloop_sdk.ValidationFailed), (428, csloop_sdk.PreconditionRequired), (500, csloop_sdk.ServerError),
    (503, csloop_sdk.ServiceUnavailable), (418, csloop_sdk.CSLoopError),
])
def test_each_problem_status_raises_its_type(status: int, kind: type[csloop_sdk.CSLoopError]) -> None:
    client, _, _ = scripted(*(problem(status, errors=[{"field": "name", "message": "required"}]) for _ in range(3)))
    with pytest.raises(kind) as raised:
        client.customers.get("c1")
    assert isinstance(raised.value, csloop_sdk.CSLoopError)
    assert raised.value.status == status and raised.value.detail == "d"
    assert raised.value.errors == [{"field": "name", "message": "required"}]


def test_an_error_page_that_is_not_json_still_raises_a_typed_error() -> None:
    client, _, _ = scripted(httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(csloop_sdk.ServerError) as raised:
        client.customers.get("c1")
    assert raised.value.status == 502 and "Bad gateway" in raised.value.detail


def test_an_update_sends_the_version_read_as_if_match() -> None:
    client, requests, _ = scripted(httpx.Response(200, json=CUSTOMER), httpx.Response(200, json=CUSTOMER),
                                   httpx.Response(200, json=CUSTOMER))
    customer = client.customers.get("c1")
    client.customers.update(customer, city="上海")
    client.customers.update(7, customer_id="c1", city="上海")
    assert requests[1].headers["If-Match"] == '"v3"' and requests[1].url.path == "/v1/customers/c1"
    assert requests[2].headers["If-Match"] == '"v7"'
    assert json.loads(requests[1].content) == {"city": "上海"}


def test_pages_follow_the_cursor_lazily() -> None:
    pages = [httpx.Response(200, json={"items": [CUSTOMER, CUSTOMER], "next_cursor": "abc"}),
             httpx.Response(200, json={"items": [CUSTOMER], "next_cursor": None})]
    client, requests, _ = scripted(*pages)
    listed = client.customers.list(dealer_code="D1", page_size=2)
    assert requests == []  # nothing sent before iterating
    assert [c.id for c in listed] == ["c1"] * 3
    assert [dict(r.url.params) for r in requests] == [{"dealer_code": "D1", "limit": "2"},
                                                      {"dealer_code": "D1", "limit": "2", "cursor": "abc"}]


def test_fields_the_server_adds_later_are_kept_not_refused() -> None:
    client, _, _ = scripted(httpx.Response(200, json=CUSTOMER | {"loyalty_tier": "gold"}))
    assert client.customers.get("c1").model_extra == {"loyalty_tier": "gold"}


def test_the_sdk_imports_neither_the_server_nor_its_stack() -> None:
    probe = ("import sys, csloop_sdk; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'gateway', 'services', 'shared', 'cli', "
             "'fastapi', 'sqlalchemy', 'starlette', 'aiohttp'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_dates_and_datetimes_go_out_as_iso_8601_in_bodies_and_queries() -> None:
    client, requests, _ = scripted(httpx.Response(201, json=CUSTOMER), httpx.Response(200, json={"items": []}))
    when = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    client.customers.create(dealer_code="D1", name="x", birth_date=date(1990, 1, 2))
    client.responses.list(from_=when).first()
    assert json.loads(requests[0].content)["birth_date"] == "1990-01-02"
    assert requests[1].url.params["from"] == "2026-05-01T08:30:00Z"
