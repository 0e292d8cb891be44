"""Which org a KPI question is about: looked up among the caller's own subtree, never the whole tree.

An `org_code` outside the caller's subtree, whether it names an org of another network or
none at all, takes the same path at the same cost: a miss in the caller's cached subtree,
then one fresh directory call for that subtree. Looking a code up tree-wide (and caching
what exists) made a foreign org answer faster than an unknown one: an existence oracle.
"""

import time
from collections.abc import Iterable

from shared.orgs import CACHE_SECONDS, OrgDirectory, OrgInfo


class CallerSubtrees:
    def __init__(self, directory: OrgDirectory) -> None:
        self.directory = directory
        # Keyed by a caller's org path (from a verified token): at most one entry per org.
        self._cache: dict[str, tuple[float, dict[str, OrgInfo]]] = {}
        self._names: dict[str, dict[str, str]] = {}  # the same subtrees' names by code, built once per fetch

    async def find(self, org_path: str, code: str) -> OrgInfo | None:
        """The org with this code at or below `org_path`, or None."""
        wanted = code.strip().upper()
        cached = self._cache.get(org_path)
        if cached and cached[0] > time.monotonic() and wanted in cached[1]:
            return cached[1][wanted]
        # Not cached, stale, or a miss: ask again, so an org created a moment ago is found at once.
        return (await self._fetch(org_path)).get(wanted)

    async def names(self, org_path: str, codes: Iterable[str]) -> dict[str, str]:
        """Names by code of the orgs at or below `org_path` (a ranking's), from the cached subtree
        while it knows every code asked for (the cached mapping itself: read it, never change it)."""
        cached = self._cache.get(org_path)
        if cached is None or cached[0] <= time.monotonic() or any(code not in cached[1] for code in codes):
            await self._fetch(org_path)
        return self._names[org_path]

    async def orgs(self, org_path: str, *, knowing: Iterable[str] = (), fresh: bool = False) -> list[OrgInfo]:
        """Every org at or below `org_path` (an evaluated network's): the cached subtree while it is
        young and holds every org path in `knowing` (those the figures name), else asked again, so a
        dealer created a moment ago with its first figures is evaluated at once. `fresh`: always asked."""
        cached = self._cache.get(org_path)
        if fresh or cached is None or cached[0] <= time.monotonic():
            return list((await self._fetch(org_path)).values())
        paths = {org.path for org in cached[1].values()}
        if any(path not in paths for path in knowing):
            return list((await self._fetch(org_path)).values())
        return list(cached[1].values())

    async def _fetch(self, org_path: str) -> dict[str, OrgInfo]:
        orgs = {org.code: org for org in await self.directory.subtree(org_path)}
        self._cache[org_path] = (time.monotonic() + CACHE_SECONDS, orgs)
        self._names[org_path] = {code: org.name for code, org in orgs.items()}
        return orgs
