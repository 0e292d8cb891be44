"""The one place requests are sent: authentication, Idempotency-Key, retries, error mapping.

A create (POST) carries an Idempotency-Key, generated unless the caller gives one, and every
retry of it sends the same key, so a create retried after a lost answer is stored once. 429
and 503 are retried a bounded number of times, waiting what Retry-After says (capped).
"""

import time
import uuid
from collections.abc import Callable, Generator
from typing import Any

import httpx
from pydantic_core import to_jsonable_python

from csloop_sdk.errors import error_for, retry_after_seconds

RETRIED_STATUSES = frozenset({429, 503})
# A bulk import is one long request: the server answers after the last row is stored.
LONG_TIMEOUT = httpx.Timeout(connect=10.0, read=1800.0, write=1800.0, pool=10.0)


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials: bearer token from `/v1/oauth/token`, renewed before it expires."""

    requires_response_body = True

    def __init__(self, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        if scope:
            self._form["scope"] = scope
        self._token: str | None = None
        self._renew_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or time.monotonic() >= self._renew_at:
            response = yield httpx.Request("POST", request.url.join("/v1/oauth/token"), data=self._form)
            if response.status_code != 200:
                raise error_for(response)
            token = response.json()
            self._token = token["access_token"]
            self._renew_at = time.monotonic() + token["expires_in"] * 0.9
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class Transport:
    def __init__(self, base_url: str, *, api_key: str | None, oauth: ClientCredentials | None, timeout: float,
                 max_retries: int, max_retry_wait: float, transport: httpx.BaseTransport | None,
                 sleep: Callable[[float], None]) -> None:
        if api_key is not None and oauth is not None:
            raise ValueError("give api_key or oauth, not both")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, auth=oauth, timeout=timeout,
                                 transport=transport)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, idempotency_key: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send, retrying 429/503; raise the typed error of any answer >= 300."""
        headers = dict(kwargs.pop("headers", None) or {})
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        # datetimes, dates, UUIDs and models become their JSON form, in bodies and in queries alike.
        if "params" in kwargs:
            kwargs["params"] = {name: to_jsonable_python(value) for name, value in kwargs["params"].items()
                                if value is not None}
        if "json" in kwargs:
            kwargs["json"] = to_jsonable_python(kwargs["json"])
        for attempt in range(self.max_retries + 1):
            response = self.http.request(method, path, headers=headers, **kwargs)
            if response.status_code not in RETRIED_STATUSES or attempt == self.max_retries or _streamed(kwargs):
                break
            self._sleep(self._wait(response, attempt))
        if response.status_code >= 300:
            raise error_for(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        told = retry_after_seconds(response.headers.get("Retry-After"))
        wait = told if told is not None else 0.5 * 2 ** attempt
        return min(wait, self.max_retry_wait)


def _streamed(kwargs: dict[str, Any]) -> bool:
    # A body given as an iterator is consumed by the first attempt; it cannot be sent again.
    content = kwargs.get("content")
    return content is not None and not isinstance(content, bytes | str)


