"""Where a webhook may point: public http(s) addresses only, unless private targets are allowed
(`webhooks_allow_private_targets`, off unless asked) or the exact `host:port` is on the
allow-list (`webhooks_allowed_targets`: a local receiver, without opening every local port).

A URL is checked when the subscription is created and again on every delivery, through
the resolver the delivery connection itself uses: a name that resolved to a public
address at creation and to 10.0.0.5 later (DNS rebinding) is refused at connect time.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL is not a usable webhook target; the message says why."""


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def parse_target(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL without credentials, else TargetRefused."""
    try:
        parts = urlsplit(url)  # ValueError on a broken IPv6 literal (`http://[::1/`)
    except ValueError as exc:
        raise TargetRefused("the URL is malformed") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL has an invalid port") from exc
    try:
        # What the resolver will do with it: an empty or 64+ character label, or a character
        # IDNA refuses (bidi controls), fails here instead of inside getaddrinfo.
        parts.hostname.encode("idna")
    except UnicodeError as exc:
        raise TargetRefused(f"the host '{parts.hostname}' is not a valid name") from exc
    return parts.hostname, port


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def endpoint(host: str, port: int) -> str:
    """`host:port` as the allow-list spells it (IPv6 in brackets, names in lower case)."""
    host = host.lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def check_target(url: str, *, allow_private: bool, allowed: frozenset[str] = frozenset()) -> None:
    """Refuse URLs that are malformed or resolve (any of their addresses) to a non-public address,
    unless private targets are allowed or the URL's `host:port` is on the allow-list."""
    host, port = parse_target(url)
    if allow_private or endpoint(host, port) in allowed:
        return
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"the host '{host}' does not resolve") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [str(ip) for ip in addresses if not is_public(ip)]
    if refused:
        raise TargetRefused(f"the host '{host}' resolves to a private, loopback or link-local address ({refused[0]})")


@dataclass(frozen=True)
class TargetPolicy:
    """The settings' answer to "may a webhook point there?", for creation and every delivery."""

    allow_private: bool = False
    allowed: frozenset[str] = frozenset()

    async def check(self, url: str) -> None:
        await check_target(url, allow_private=self.allow_private, allowed=self.allowed)

    def resolver(self) -> AbstractResolver | None:
        """The resolver for delivery connections (None: aiohttp's own, any address)."""
        return None if self.allow_private else PublicOnlyResolver(self.allowed)


def target_policy(allow_private: bool, allowed: list[str]) -> TargetPolicy:
    return TargetPolicy(allow_private, frozenset(entry.strip().lower() for entry in allowed if entry.strip()))


class PublicOnlyResolver(AbstractResolver):
    """aiohttp resolver that fails a lookup if any answer is not public (checked at connect time),
    except for a `host:port` on the allow-list."""

    def __init__(self, allowed: frozenset[str] = frozenset()) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if endpoint(host, port) in self._allowed:
            return results
        for result in results:
            if not is_public(ipaddress.ip_address(result["host"])):
                raise OSError(f"{host} resolves to a non-public address ({result['host']})")
        return results

    async def close(self) -> None:
        await self._inner.close()
