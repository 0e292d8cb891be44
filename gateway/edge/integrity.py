"""What the gateway tells the survey service about who answers a survey (issue 17), without
telling it who: salted hashes of the client address and device, and whether the address lies
in the networks of the dealer the invitation belongs to.

On the public survey routes (the survey read by token, which records the first open, and the
two submits: the JSON API and the page) the upstream request carries

- `X-CSLoop-Client-Hash`: hex HMAC-SHA256 of the client address under `CSLOOP_INTEGRITY_SECRET`;
- `X-CSLoop-Device-Hash`: the same of address + "\\n" + user agent;
- `X-CSLoop-Dealer-Network: 1` when the address is in the invitation's dealer's networks;
- an internal token of `ATTESTER`, a principal that can do nothing but vouch for these headers
  (scope `integrity:attest` alone; its path "/" is the one public routes run under anyway): the survey service believes them only with it,
  and a caller's own `X-CSLoop-*` or `X-Internal-Token` never passes the proxy's header allowlist.

The raw address is never sent: these requests carry no X-Forwarded-For. The client address is
the TCP peer, or, when `CSLOOP_FORWARDED_ALLOW_IPS` names the proxy in front, the client that
proxy names (uvicorn rewrites the peer before any of this runs: shared/serve.py).
"""

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import aiohttp

from gateway.repository import OrgNetworkRepository
from shared.auth import INTERNAL_HEADER, Principal, system_principal

logger = logging.getLogger("csloop.gateway.integrity")

CLIENT_HASH = "x-csloop-client-hash"
DEVICE_HASH = "x-csloop-device-hash"
DEALER_NETWORK = "x-csloop-dealer-network"
# Each lookup of a token's dealer is one internal call; a slow survey service must not hold
# the customer's answer for long: without an answer the flag is simply not raised.
DEALER_LOOKUP_TIMEOUT = aiohttp.ClientTimeout(total=2.0)
# An invitation never changes dealer, so a token's dealer may be kept; the bound stops a flood
# of made-up tokens growing the map (it is cleared when full, as the authenticator's caches are).
MAX_CACHED_TOKENS = 50_000
TOKEN_CACHE_SECONDS = 3600.0

ATTEST_SCOPE = "integrity:attest"
# Sent on public routes, so it adds no power: one scope that no route requires, and the path the
# survey service gives a public request without a token (the token's path scopes the request:
# shared.service_app.request_org_path).
ATTESTER = Principal("gateway:integrity", "*", "/", "gateway", ("gateway",), frozenset({ATTEST_SCOPE}))


def client_hash(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def device_hash(secret: str, address: str, user_agent: str) -> str:
    return hmac.new(secret.encode(), f"{address}\n{user_agent}".encode(), hashlib.sha256).hexdigest()


class NetworkIndex:
    """Every dealer's networks, bucketed by prefix length: finding the dealers whose networks
    hold an address costs one mask and one dict look-up per prefix length in use, however many
    dealers there are."""

    def __init__(self, rows: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._buckets: dict[tuple[int, int], dict[int, set[str]]] = {}
        for dealer_code, cidrs in rows:
            for cidr in cidrs:
                network = ipaddress.ip_network(cidr)
                bucket = self._buckets.setdefault((network.version, network.prefixlen), {})
                bucket.setdefault(int(network.network_address), set()).add(dealer_code)

    def dealers_of(self, address: str) -> set[str]:
        """The dealers whose networks hold `address` (none for an unparsable address)."""
        if not self._buckets:
            return set()
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return set()
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d
        value, width = int(ip), ip.max_prefixlen
        found: set[str] = set()
        for (version, prefixlen), bucket in self._buckets.items():
            if version == ip.version:
                mask = ((1 << prefixlen) - 1) << (width - prefixlen)
                found |= bucket.get(value & mask, set())
        return found


class Integrity:
    """The headers for one public survey request; the network index and token dealers cached."""

    def __init__(self, secret: str, refresh_seconds: float) -> None:
        self._secret = secret
        self._refresh_seconds = refresh_seconds
        self._index = NetworkIndex(())
        self._index_expires = 0.0
        self._index_lock = asyncio.Lock()
        self._dealers: dict[str, tuple[float, str | None]] = {}

    def forget_networks(self) -> None:
        """A PUT of networks takes effect at once in this process (others: after the refresh period)."""
        self._index_expires = 0.0

    async def headers(self, state: Any, token: str, address: str, user_agent: str) -> dict[str, str]:
        headers = {
            CLIENT_HASH: client_hash(self._secret, address),
            DEVICE_HASH: device_hash(self._secret, address, user_agent),
            INTERNAL_HEADER: state.authenticator.internal_token(ATTESTER),
        }
        candidates = (await self._networks(state)).dealers_of(address)
        # Only an address inside some dealer's network costs a look-up of the token's dealer.
        if candidates and await self._dealer_of(state, token) in candidates:
            headers[DEALER_NETWORK] = "1"
        return headers

    async def _networks(self, state: Any) -> NetworkIndex:
        if time.monotonic() < self._index_expires:
            return self._index
        async with self._index_lock:
            if time.monotonic() >= self._index_expires:
                async with state.sessions() as session:
                    rows = await OrgNetworkRepository(session, system_principal()).every_network()
                self._index = NetworkIndex(rows)
                self._index_expires = time.monotonic() + self._refresh_seconds
        return self._index

    async def _dealer_of(self, state: Any, token: str) -> str | None:
        now = time.monotonic()
        cached = self._dealers.get(token)
        if cached and cached[0] > now:
            return cached[1]
        dealer = await _ask_dealer(state, token)
        if dealer is not None:
            if len(self._dealers) >= MAX_CACHED_TOKENS:
                self._dealers.clear()
            self._dealers[token] = (now + TOKEN_CACHE_SECONDS, dealer)
        return dealer


async def _ask_dealer(state: Any, token: str) -> str | None:
    """The survey service's answer to "whose invitation is this token?"; None when it has none
    (unknown token) or cannot say right now (then the flag is not raised, the answer still counts)."""
    upstream = state.upstreams["survey"]
    if upstream.client is None:
        return None
    target = f"/internal/invitations/by-token/{quote(token, safe='')}/dealer"
    headers = {INTERNAL_HEADER: state.authenticator.internal_token(system_principal()), "accept": "application/json"}
    try:
        async with upstream.request("GET", target, headers=headers, timeout=DEALER_LOOKUP_TIMEOUT,
                                    allow_redirects=False) as response:
            if response.status != 200:
                if response.status != 404:
                    logger.warning("dealer look-up of a survey token answered %s", response.status)
                return None
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("dealer look-up of a survey token failed: %s", exc.__class__.__name__)
        return None
    dealer = body.get("dealer_code") if isinstance(body, dict) else None
    return dealer if isinstance(dealer, str) else None


def survey_token(method: str, path: str) -> str | None:
    """The token of a public survey request that carries integrity headers: `GET
    /v1/public/surveys/{token}` (the first open) and `POST .../{token}/responses` (the submit)."""
    parts = path.split("/")  # ["", "v1", "public", "surveys", token, ...]
    if len(parts) < 5 or parts[1:4] != ["v1", "public", "surveys"] or not parts[4]:
        return None
    if method == "GET" and len(parts) == 5:
        return parts[4]
    if method == "POST" and len(parts) == 6 and parts[5] == "responses":
        return parts[4]
    return None
