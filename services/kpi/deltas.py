"""Rollup increments summed in memory, then written once: the set-based side of recording facts.

A response adds to several metrics (responses, nps, csi...) of every org above its dealer
(`domain.rollup_paths`), for its month and its year (`domain.rollup_periods`), and a relay's
batch holds hundreds of responses of the same few orgs and months: summed per rollup row
first, a batch writes each row once, whatever its size.
Rows come out in key order, so two transactions adding to the same rows lock them in the
same order and wait for each other instead of deadlocking.
"""

from datetime import datetime
from typing import Any

from services.kpi.domain import Agg, PairSums, rollup_paths, rollup_periods

RollupKey = tuple[str, str, str]  # metric, month or year, org path
FactorKey = tuple[str, str, str, str]  # survey kind, month or year, org path, factor


class RollupDeltas:
    def __init__(self) -> None:
        self._rollups: dict[RollupKey, Agg] = {}
        self._factors: dict[FactorKey, PairSums] = {}

    def add(self, at: datetime, org_path: str, aggs: dict[str, Agg]) -> None:
        """A record at `org_path` and time `at` adds `aggs` (by metric) to the rollups of each org above it."""
        for period in rollup_periods(at):
            for path in rollup_paths(org_path):
                for metric, agg in aggs.items():
                    key = (metric, period, path)
                    self._rollups[key] = self._rollups.get(key, Agg()) + agg

    def add_factors(self, kind: str, at: datetime, org_path: str, factors: dict[str, float], y: float) -> None:
        """One response's factor scores against its index, for the pooled Pearson r of key drivers."""
        sums = {factor: PairSums(1, x, y, x * x, y * y, x * y) for factor, x in factors.items()}
        for period in rollup_periods(at):
            for path in rollup_paths(org_path):
                for factor, one in sums.items():
                    key = (kind, period, path, factor)
                    self._factors[key] = self._factors.get(key, PairSums()) + one

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rollup rows and factor rows to add, each in key order; empties the deltas."""
        rollups = [{"metric": metric, "month": month, "org_path": path, "n": agg.n, "s": agg.s, "ss": agg.ss}
                   for (metric, month, path), agg in sorted(self._rollups.items())]
        factors = [{"kind": kind, "month": month, "org_path": path, "factor": factor, "n": p.n, "sx": p.sx, "sy": p.sy,
                    "sxx": p.sxx, "syy": p.syy, "sxy": p.sxy}
                   for (kind, month, path, factor), p in sorted(self._factors.items())]
        self._rollups, self._factors = {}, {}
        return rollups, factors
