"""The services behind the gateway: which path prefix each owns, and one pooled client each."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from gateway.settings import GatewaySettings
from shared.replicas import ReplicaSet, replica_urls

# Path prefix -> owning service. A prefix ending in "-" matches a family (`/v1/survey-*`).
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/customers", "customer"), ("/v1/vehicles", "customer"), ("/v1/deliveries", "customer"),
    ("/v1/service-visits", "customer"), ("/v1/prospects", "customer"), ("/v1/follow-ups", "customer"),
    ("/v1/interactions", "customer"), ("/v1/lookup", "customer"), ("/v1/appointments", "customer"),
    ("/v1/dealers", "customer"),  # a dealer's desk settings (/v1/dealers/{code}/desk-settings)
    ("/v1/staff", "customer"), ("/v1/campaigns", "customer"), ("/v1/retention", "customer"),
    ("/v1/surveys", "survey"), ("/v1/survey-", "survey"), ("/v1/public/surveys", "survey"),
    ("/v1/complaints", "complaint"), ("/v1/complaint-sla-policies", "complaint"), ("/v1/quality-signals", "complaint"),
    ("/v1/tech-requests", "complaint"),
    ("/v1/bulletins", "complaint"), ("/v1/recalls", "complaint"),
    ("/v1/kpi", "kpi"),
    ("/v1/improvement-plans", "kpi"),
    ("/v1/evaluation-schemes", "kpi"), ("/v1/evaluations", "kpi"),
)
# The bulk import operations (whole DMS exports): the only routed paths with the large body limit.
IMPORT_PATHS: frozenset[str] = frozenset({"/v1/customers/import", "/v1/vehicles/import", "/v1/deliveries/import",
                                          "/v1/service-visits/import", "/v1/survey-responses/import"})
# Bulk imports under a record's path (a recall's 100,000 VINs): `/v1/recalls/{code}/vins/import`.
IMPORT_PATH_SHAPES: tuple[tuple[str, str], ...] = (("/v1/recalls/", "/vins/import"),)


def is_import_path(path: str) -> bool:
    return path in IMPORT_PATHS or any(path.startswith(head) and path.endswith(tail) and "/" not in
                                       path[len(head):-len(tail)] for head, tail in IMPORT_PATH_SHAPES)
# Reached without credentials: a customer answering a survey has no key.
PUBLIC_PREFIXES: tuple[str, ...] = ("/v1/public/",)
SERVICES: tuple[str, ...] = ("customer", "survey", "complaint", "kpi")
# Readiness of each replica of a replicated service: given this long to answer (asked every
# `upstream_probe_seconds`).
PROBE_TIMEOUT_SECONDS = 0.4


def route_for(path: str) -> tuple[str, str] | None:
    """(prefix, service) owning `path`, or None when the gateway serves it itself."""
    if not path.startswith("/v1/"):
        return None
    for prefix, service in ROUTES:
        if path.startswith(prefix) and (
            len(path) == len(prefix) or path[len(prefix)] == "/" or prefix[-1] == "-"
        ):
            if service == "customer" and path.endswith("/360") and path.startswith("/v1/customers/"):
                return None  # the customer 360 is assembled by the gateway (view360.py)
            return prefix, service
    return None


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


@dataclass
class Upstream:
    name: str
    replicas: ReplicaSet | None  # None: the service is not deployed
    client: aiohttp.ClientSession | None = None  # an HTTP client, not a database session

    @asynccontextmanager
    async def request(self, method: str, target: str, *, encoded: bool = True,
                      **options: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response of the replica whose turn it is, or of the next one when a replica refuses
        the connection (nothing was sent: no effect can happen twice). `target` is the path and
        query (already percent-encoded unless `encoded=False`); `options` go to aiohttp. A streamed
        body (`data` neither bytes nor None) is read once, so it goes to one replica only."""
        assert self.client is not None and self.replicas is not None
        data = options.get("data")
        resendable = data is None or isinstance(data, bytes)
        replicas = self.replicas.in_turn()
        for attempt, base in enumerate(replicas, start=1):
            try:
                response = await self.client.request(method, URL(base + target, encoded=encoded), **options)
            except aiohttp.ClientConnectorError:
                self.replicas.mark_down(base)
                if attempt == len(replicas) or not resendable:
                    raise
                continue
            async with response:
                yield response
            return


class Upstreams:
    """One aiohttp session per service, opened in the lifespan and reused by every request. With
    several replicas of a service, each is probed for readiness twice a second, so one that is
    draining, hung or dead is left out within a second (shared/replicas.py takes them in turn)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        urls = {"customer": settings.customer_url, "survey": settings.survey_url,
                "complaint": settings.complaint_url, "kpi": settings.kpi_url}
        self.by_name = {name: Upstream(name, replica_set(urls[name])) for name in SERVICES}
        self._probes: asyncio.Task[None] | None = None

    def __getitem__(self, name: str) -> Upstream:
        return self.by_name[name]

    async def open(self) -> None:
        s = self._settings
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=s.upstream_connect_timeout_seconds,
            # `connect` includes waiting for a free pooled connection under load.
            connect=s.upstream_read_timeout_seconds, sock_read=s.upstream_read_timeout_seconds,
        )
        for upstream in self.by_name.values():
            if upstream.replicas is None:
                continue
            connector = aiohttp.TCPConnector(
                limit=s.upstream_pool_size, ttl_dns_cache=300,
                # Below uvicorn's 5 s keep-alive, so a pooled connection is never one the
                # service is closing at that moment.
                keepalive_timeout=4.0,
            )
            upstream.client = aiohttp.ClientSession(
                connector=connector, timeout=timeout,
                # Bytes pass through untouched (compressed stays compressed), no cookies are
                # kept between callers, and nothing is added the caller did not send.
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        replicated = [u for u in self.by_name.values() if u.replicas is not None and len(u.replicas) > 1]
        if replicated:
            self._probes = asyncio.create_task(probe_readiness(replicated, s.upstream_probe_seconds),
                                               name="upstream-readiness")

    async def close(self) -> None:
        if self._probes is not None:
            self._probes.cancel()
            await asyncio.gather(self._probes, return_exceptions=True)
            self._probes = None
        for upstream in self.by_name.values():
            if upstream.client is not None:
                await upstream.client.close()
                upstream.client = None


def replica_set(setting: str | None) -> ReplicaSet | None:
    urls = replica_urls(setting)
    return ReplicaSet(urls) if urls else None


async def probe_readiness(upstreams: list[Upstream], every_seconds: float) -> None:
    """Forever: ask every replica's /readyz, marking it down (for a little longer than a probe
    period, so the mark lapses only if probes stop) or up by the answer."""
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)

    async def probe(upstream: Upstream, base: str) -> None:
        assert upstream.client is not None and upstream.replicas is not None
        try:
            async with upstream.client.get(base + "/readyz", timeout=timeout) as answer:
                ready = answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ready = False
        if ready:
            upstream.replicas.mark_up(base)
        else:
            upstream.replicas.mark_down(base, every_seconds * 2 + PROBE_TIMEOUT_SECONDS)

    while True:
        await asyncio.gather(*(probe(u, base) for u in upstreams for base in u.replicas.urls))  # type: ignore[union-attr]
        await asyncio.sleep(every_seconds)
