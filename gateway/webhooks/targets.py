"""Where a webhook may point: public http(s) addresses only, unless private targets are allowed.

A URL is checked when the subscription is created and again on every delivery, through
the resolver the delivery connection itself uses: a name that resolved to a public
address at creation and to 10.0.0.5 later (DNS rebinding) is refused at connect time.
"""

import asyncio
import ipaddress
import socket
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
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL has an invalid port") from exc
    return parts.hostname, port


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are malformed or resolve (any of their addresses) to a non-public address."""
    host, port = parse_target(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"the host '{host}' does not resolve") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [str(ip) for ip in addresses if not is_public(ip)]
    if refused:
        raise TargetRefused(f"the host '{host}' resolves to a private, loopback or link-local address ({refused[0]})")


class PublicOnlyResolver(AbstractResolver):
    """aiohttp resolver that fails a lookup if any answer is not public (checked at connect time)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not is_public(ipaddress.ip_address(result["host"])):
                raise OSError(f"{host} resolves to a non-public address ({result['host']})")
        return results

    async def close(self) -> None:
        await self._inner.close()
