"""Rollup increments summed in memory, then written once: the set-based side of recording facts.

A response adds to several metrics (responses, nps, csi...) of every org above its dealer
(`domain.rollup_paths`), for its month and its year (`domain.rollup_periods`), and a relay's
batch holds hundreds of responses of the same few orgs and months: summed per rollup row
first, a batch writes each row once, whatever its size.
Rows come out in key order, so two transactions adding to the same rows lock them in the
same order and wait for each other instead of deadlocking.
"""

from collections.abc import Iterable
from datetime import datetime
from operator import add
from typing import Any

from services.kpi.domain import Agg, month_of, rollup_paths, rollup_periods

Sums = list[float]


class RollupDeltas:
    """Increments summed per record's org path and month as records come (one dict update each), and
    spread to every org above and to the year only when taken (once per distinct path and month)."""

    def __init__(self) -> None:
        self._rollups: dict[tuple[str, str, str], Sums] = {}  # metric, month, the records' org path
        self._factors: dict[tuple[str, str, str, str], Sums] = {}  # survey kind, month, org path, factor

    def add(self, at: datetime, org_path: str, aggs: dict[str, Agg]) -> None:
        """A record at `org_path` and time `at` adds `aggs` (by metric)."""
        month = month_of(at)
        for metric, agg in aggs.items():
            _add(self._rollups, (metric, month, org_path), (agg.n, agg.s, agg.ss))

    def add_factors(self, kind: str, at: datetime, org_path: str, factors: dict[str, float], y: float,
                    sign: int = 1) -> None:
        """One response's factor scores against its index, for the pooled Pearson r of key drivers; sign
        -1 takes them back (a response flagged after it was counted)."""
        month = month_of(at)
        for factor, x in factors.items():
            _add(self._factors, (kind, month, org_path, factor),
                 (sign, sign * x, sign * y, sign * x * x, sign * y * y, sign * x * y))

    def take(self) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """The rollup rows and the factor rows to add, column by column, each in key order (empty when
        nothing was added); empties the deltas."""
        rollups = _columns(_spread(self._rollups), ("metric", "month", "org_path", "n", "s", "ss"))
        factors = _columns(_spread(self._factors), ("kind", "month", "org_path", "factor", "n", "sx", "sy", "sxx", "syy", "sxy"))
        self._rollups, self._factors = {}, {}
        return rollups, factors


def _add(deltas: dict[Any, Sums], key: Any, values: Iterable[float]) -> None:
    sums = deltas.get(key)
    if sums is None:
        deltas[key] = list(values)
    else:
        for i, value in enumerate(values):
            sums[i] += value


def _spread(deltas: dict[Any, Sums]) -> dict[Any, Sums]:
    """Each delta added to the rows of its month and year, of its own org and of every org above it."""
    rows: dict[Any, Sums] = {}
    for (first, month, path, *rest), sums in deltas.items():
        for period in rollup_periods(month):
            for holder in rollup_paths(path):
                key = (first, period, holder, *rest)
                row = rows.get(key)
                if row is None:
                    rows[key] = sums.copy()
                else:
                    row[:] = map(add, row, sums)
    return rows


def _columns(rows: dict[Any, Sums], names: tuple[str, ...]) -> dict[str, list[Any]]:
    ordered = sorted(rows.items())
    columns = zip(*((*key, *sums) for key, sums in ordered), strict=True)
    return {} if not ordered else dict(zip(names, map(list, columns), strict=True))
