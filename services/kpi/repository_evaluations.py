"""Evaluation schemes, published evaluations and their frozen items: all their SQL.

A scheme and a published evaluation belong to the manufacturer and are read by the orgs below it
(`readable`); a frozen item belongs to the org it evaluates, so the scope filter (and row-level
security) shows a caller the items of its own subtree only. The one read across scope is
`network`, named and explained there.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, func, or_

from services.kpi.models import TABLES, EvaluationItem, EvaluationScheme, PublishedEvaluation
from services.kpi.repository import KpiRepository
from shared import rls
from shared.auth import Principal
from shared.scope import like_prefix, visible_to


class EvaluationRepository(KpiRepository):
    outbox = TABLES.outbox  # evaluation.published

    def readable(self, model: Any) -> ColumnElement[bool]:
        """Schemes and published evaluations owned above the caller are the ones it is evaluated by:
        read, never written (row-level security holds writes to the subtree)."""
        if model is EvaluationScheme or model is PublishedEvaluation:
            return or_(visible_to(model, self.principal), model.org_path.in_(self.principal.path.lineage))
        return super().readable(model)

    async def latest_schemes(self) -> list[EvaluationScheme]:
        """The newest version of every scheme the caller may read, by owner and code."""
        newest = (self.select(EvaluationScheme, EvaluationScheme.org_path, EvaluationScheme.code,
                              func.max(EvaluationScheme.version).label("version"))
                  .group_by(EvaluationScheme.org_path, EvaluationScheme.code).subquery())
        statement = (self.select(EvaluationScheme)
                     .join(newest, (EvaluationScheme.org_path == newest.c.org_path)
                           & (EvaluationScheme.code == newest.c.code) & (EvaluationScheme.version == newest.c.version))
                     .order_by(EvaluationScheme.code, EvaluationScheme.org_path))
        return list(await self.session.scalars(statement))

    async def scheme(self, code: str, version: int | None = None) -> EvaluationScheme | None:
        """The newest (or the given) version of the scheme `code` the caller may read: its manufacturer's."""
        statement = self.select(EvaluationScheme).where(EvaluationScheme.code == code)
        if version is not None:
            statement = statement.where(EvaluationScheme.version == version)
        statement = statement.order_by(EvaluationScheme.version.desc()).limit(1)
        return (await self.session.scalars(statement)).first()

    async def add(self, *rows: Any) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def published(self, network_path: str, scheme: str, period: str) -> PublishedEvaluation | None:
        statement = self.select(PublishedEvaluation).where(PublishedEvaluation.org_path == network_path,
                                                           PublishedEvaluation.scheme == scheme,
                                                           PublishedEvaluation.period == period)
        return (await self.session.scalars(statement)).first()

    async def frozen_items(self, published: PublishedEvaluation, level: str, under: str) -> list[EvaluationItem]:
        """The published evaluation's items of one level in the subtree of `under` (and the caller's)."""
        statement = self.select(EvaluationItem).where(
            EvaluationItem.network_path == published.org_path, EvaluationItem.scheme == published.scheme,
            EvaluationItem.period == published.period, EvaluationItem.level == level,
            EvaluationItem.org_path.like(like_prefix(under), escape="/"))
        return list(await self.session.scalars(statement))

    async def count_items(self, published: PublishedEvaluation) -> int:
        statement = self.select(EvaluationItem, func.count()).where(
            EvaluationItem.network_path == published.org_path, EvaluationItem.scheme == published.scheme,
            EvaluationItem.period == published.period)
        return int((await self.session.execute(statement)).scalar_one())

    @asynccontextmanager
    async def network(self, network_path: str) -> AsyncIterator[KpiRepository]:
        """A KPI reader over the scheme owner's whole network, whoever asks: an evaluation ranks every
        dealer of the network, so a dealer's rank needs its siblings' figures. Only the caller's
        subtree's items leave the use case (services/kpi/evaluations.py); the figures of the
        others are never answered. Read-only: the widened scope ends with the block."""
        owner = Principal(self.principal.subject, self.principal.org_code, network_path, "manufacturer",
                          scopes=frozenset({"kpi:read"}))
        async with rls.acting_for(self.session, network_path):
            yield KpiRepository(self.session, owner)

