"""Rollups per org subtree, and per year: a row at an org's path holds every record at or below it.

Before, a rollup row held the records of its own path only (in practice the dealers'), and
an org's figure summed the rows of every dealer under it, month by month. From here the
recorders add each record to its own path's row and to each org's above it (the system's
root "/" aside), for its month and for its year (`month` = "YYYY"), so a summary or a trend
reads its org's rows only, and a year's ranking one row per org. The rows known so far are
turned into the new form here; downgrade drops the year rows and takes each row's children
back out of it.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from shared import rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = {  # table: (key columns besides the path, the month second, summed columns)
    "kpi_rollups": (("metric", "month"), ("n", "s", "ss")),
    "kpi_factor_rollups": (("kind", "month", "factor"), ("n", "sx", "sy", "sxx", "syy", "sxy")),
}
CHUNK = 1000


def _lineage(path: str) -> list[str]:
    """`/A/B/` -> [`/A/`, `/A/B/`]: the orgs whose subtree holds the path."""
    codes = [code for code in path.split("/") if code]
    return ["/" + "".join(code + "/" for code in codes[:n]) for n in range(1, len(codes) + 1)]


def _parent(path: str) -> str:
    return path[: path.rindex("/", 0, len(path) - 1) + 1]


Rewrite = Callable[[dict[tuple[Any, ...], list[float]]], dict[tuple[Any, ...], list[float]]]


def _rewrite(name: str, change: Rewrite) -> None:
    """Read every row of `name` (as the system: row-level security), rewrite them all, write them back."""
    bind = op.get_bind()
    rls.apply_setting(bind, rls.SYSTEM_PATH)
    keys, sums = TABLES[name]
    columns = (*keys, "org_path", *sums)
    table = sa.table(name, *(sa.column(c) for c in columns))
    rows = {tuple(row[:len(keys) + 1]): list(row[len(keys) + 1:])
            for row in bind.execute(sa.select(*table.c)).all()}
    out = change(rows)
    bind.execute(table.delete())
    values = [dict(zip(columns, (*key, *totals), strict=True)) for key, totals in sorted(out.items())]
    for i in range(0, len(values), CHUNK):
        bind.execute(table.insert().values(values[i:i + CHUNK]))


def _to_subtrees(rows: dict[tuple[Any, ...], list[float]]) -> dict[tuple[Any, ...], list[float]]:
    out: dict[tuple[Any, ...], list[float]] = {}
    for (first, month, *rest, path), sums in rows.items():
        for period in (month, month[:4]):
            for holder in _lineage(path):
                totals = out.setdefault((first, period, *rest, holder), [0] * len(sums))
                for i, value in enumerate(sums):
                    totals[i] += value
    return out


def _to_own_paths(rows: dict[tuple[Any, ...], list[float]]) -> dict[tuple[Any, ...], list[float]]:
    own = {key: list(sums) for key, sums in rows.items() if len(key[1]) == 7}  # months only: years go
    for (*key, path), sums in list(own.items()):
        parent = (*key, _parent(path))
        if parent in own:
            own[parent] = [total - value for total, value in zip(own[parent], sums, strict=True)]
    return {key: sums for key, sums in own.items() if sums[0]}  # n = 0: no record of its own


def upgrade() -> None:
    for name in TABLES:
        _rewrite(name, _to_subtrees)


def downgrade() -> None:
    for name in TABLES:
        _rewrite(name, _to_own_paths)
