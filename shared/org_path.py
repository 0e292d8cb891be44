"""The organisation tree's one value type: a path such as `/FTMS/D-NORTH/DLR-0042/`.

An org's path is its ancestors' codes and its own, each followed by "/"; the root "/" is the
system's and holds every org. A record carries the path of the org that owns it, and the
hierarchy rule is that a caller sees a record when the caller's path contains the record's.
Every part asks this type instead of writing the rule out with `startswith` or `split("/")`.
It is a `str`, so it goes into SQL, JSON and tokens unchanged.
"""

import re
from collections.abc import Iterable
from typing import Self

from shared.types import ORG_CODE_PATTERN

_CODE = re.compile(ORG_CODE_PATTERN)


class OrgPath(str):
    """A validated org path; `OrgPath("/A/B/")` raises ValueError for anything else."""

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str) or not value.startswith("/") or not value.endswith("/"):
            raise ValueError(f"an org path starts and ends with '/': {value!r}")
        if any(not _CODE.match(code) for code in value[1:-1].split("/") if value != "/"):
            raise ValueError(f"an org path is org codes between '/': {value!r}")
        return super().__new__(cls, value)

    @classmethod
    def root(cls) -> "OrgPath":
        """The system's path, above every org."""
        return cls("/")

    def child(self, code: str) -> "OrgPath":
        """`/FTMS/` + `D-NORTH` -> `/FTMS/D-NORTH/`: the path of an org created below this one."""
        return OrgPath(f"{self}{code}/")

    @property
    def codes(self) -> tuple[str, ...]:
        """`/A/B/` -> ("A", "B"); the root has none."""
        return tuple(code for code in self.split("/") if code)

    @property
    def code(self) -> str | None:
        """The org's own code, the last one: `/A/B/` -> "B"; the root has none."""
        codes = self.codes
        return codes[-1] if codes else None

    @property
    def depth(self) -> int:
        """How many orgs down from the root: `/` is 0, a manufacturer `/A/` is 1."""
        return len(self.codes)

    @property
    def parent(self) -> "OrgPath | None":
        """`/A/B/` -> `/A/`; the root has no parent."""
        if self == "/":
            return None
        return OrgPath(self[: self.rindex("/", 0, len(self) - 1) + 1])

    @property
    def ancestors(self) -> tuple["OrgPath", ...]:
        """`/A/B/` -> (`/`, `/A/`): every path strictly above, from the root down."""
        codes = self.codes
        return tuple(OrgPath("/" + "".join(code + "/" for code in codes[:n])) for n in range(len(codes)))

    @property
    def lineage(self) -> tuple["OrgPath", ...]:
        """The ancestors and the path itself: the orgs whose subtree holds this path."""
        return (*self.ancestors, self)

    def at_depth(self, depth: int) -> "OrgPath":
        """The path's ancestor `depth` orgs below the root (`/A/B/C/` at 1 -> `/A/`); a path no deeper is itself."""
        return self.lineage[min(depth, self.depth)]

    @property
    def prefix(self) -> str:
        """What every path in this subtree starts with (for SQL's `startswith`, escaped by the caller)."""
        return str(self)

    def contains(self, other: str) -> bool:
        """`/A/` contains `/A/` and `/A/B/`, not `/AB/` nor `/`: the hierarchy rule."""
        return other.startswith(self.prefix)

    def is_above(self, other: str) -> bool:
        """Strictly above: contains `other` and is not `other` itself."""
        return other != self and self.contains(other)

    @classmethod
    def common_ancestor(cls, paths: Iterable[str]) -> "OrgPath":
        """`/OEM/DN/D1/` and `/OEM/DS/D3/` -> `/OEM/`: the lowest path containing them all."""
        shared: tuple[str, ...] | None = None
        for path in paths:
            codes = cls(path).codes
            if shared is None:
                shared = codes
                continue
            n = 0
            while n < min(len(shared), len(codes)) and shared[n] == codes[n]:
                n += 1
            shared = shared[:n]
        if shared is None:
            raise ValueError("the common ancestor of no paths is undefined")
        return cls("/" + "".join(code + "/" for code in shared))
