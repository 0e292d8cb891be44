"""Several replicas behind one setting: round robin over the healthy ones, a dead one skipped.

A URL setting of another process (`CSLOOP_CUSTOMER_URL`, `CSLOOP_GATEWAY_URL`...) may name
several replicas, comma-separated (`csloop up --replicas N` sets them so). Requests take the
replicas in turn; one that refuses a connection is skipped at once and for `DOWN_SECONDS`
after, so a killed replica costs no caller an error as long as another answers. Only a
refused or failed connection moves a request on: the request was never received, so
sending it to the next replica cannot make its effect twice. A replica that accepted the
request and died answering it is the caller's error, as with one replica.

In Kubernetes each setting names the Service, one URL, and kube-proxy spreads the
connections: this module then does nothing but pass requests through.
"""

import time
from collections.abc import Iterable

import httpx

# A replica that refused a connection is not asked again for this long (the gateway's
# readiness probes keep it marked while it stays down, gateway/edge/upstreams.py).
DOWN_SECONDS = 1.0


def replica_urls(setting: str | None) -> list[str]:
    """The base URLs a setting names, in order, without trailing slashes; [] for none."""
    return [url.strip().rstrip("/") for url in (setting or "").split(",") if url.strip()]


def first_url(setting: str) -> str:
    """The first replica: for a one-off command that talks to the suite as it finds it."""
    return replica_urls(setting)[0]


class ReplicaSet:
    """Base URLs taken in turn, those marked down last (a last resort, since a mark may be stale)."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.urls = list(urls)
        if not self.urls:
            raise ValueError("a replica set needs at least one URL")
        self._turn = 0
        self._down_until = dict.fromkeys(self.urls, 0.0)

    def __len__(self) -> int:
        return len(self.urls)

    def in_turn(self) -> list[str]:
        """Every replica, starting with the next one's turn; the ones marked down at the end."""
        if len(self.urls) == 1:
            return self.urls
        start, self._turn = self._turn, (self._turn + 1) % len(self.urls)
        rotated = self.urls[start:] + self.urls[:start]
        now = time.monotonic()
        up = [url for url in rotated if self._down_until[url] <= now]
        return up + [url for url in rotated if self._down_until[url] > now]

    def pick(self) -> str:
        return self.in_turn()[0]

    def mark_down(self, url: str, seconds: float = DOWN_SECONDS) -> None:
        self._down_until[url] = time.monotonic() + seconds

    def mark_up(self, url: str) -> None:
        self._down_until[url] = 0.0

    def is_down(self, url: str) -> bool:
        return self._down_until[url] > time.monotonic()


class ReplicaTransport(httpx.AsyncBaseTransport):
    """An httpx transport sending each request to the next replica, and on to the one after
    when a replica refuses the connection."""

    def __init__(self, replicas: ReplicaSet, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.replicas = replicas
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        refused: httpx.ConnectError | None = None
        for base in self.replicas.in_turn():
            target = httpx.URL(base)
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
            request.headers["Host"] = target.netloc.decode("ascii")
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as exc:
                self.replicas.mark_down(base)
                refused = exc
        assert refused is not None
        raise refused

    async def aclose(self) -> None:
        await self._inner.aclose()


def replica_client(setting: str, *, timeout: httpx.Timeout,
                   transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An httpx client for the process(es) a URL setting names: relative paths go to one replica
    after another. A transport given (a test's stand-in) is used as it is."""
    urls = replica_urls(setting)
    if transport is None and len(urls) > 1:
        transport = ReplicaTransport(ReplicaSet(urls))
    return httpx.AsyncClient(base_url=urls[0], timeout=timeout, transport=transport)
