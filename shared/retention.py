"""Housekeeping for a long-running service: event bookkeeping is kept for a retention period, then pruned.

What goes: deliveries sent before the cutoff; outbox rows handed over before the cutoff that
no delivery row refers to any more (a delivery still pending keeps its event's payload, however
old); processed-event ids recorded before the cutoff. The retention period must outlast any
redelivery of an event a consumer already applied: relays retry within minutes (leases of a
minute, backoff capped at five), so days leave ample room. Rows go in batches, oldest first,
so no single statement holds locks on millions of rows.
"""

from datetime import timedelta

from sqlalchemy import Table, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import utcnow
from shared.jobs import PeriodicJob

PRUNE_BATCH = 5000


class EventHousekeeping:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], retention: timedelta, *, processed: Table,
                 outbox: Table | None = None, deliveries: Table | None = None, batch_size: int = PRUNE_BATCH) -> None:
        self._sessions = sessions
        self._retention = retention
        self._processed = processed
        self._outbox = outbox
        self._deliveries = deliveries
        self._batch_size = batch_size

    def job(self, interval_seconds: float) -> PeriodicJob:
        return PeriodicJob("event-housekeeping", self.prune_once, interval_seconds, batch_size=self._batch_size)

    async def prune_once(self) -> int:
        """Delete up to a batch of each kind; returns the most deleted from one table (a full batch: more waits)."""
        cutoff = utcnow() - self._retention
        async with self._sessions() as session, session.begin():
            counts = [await self._prune_processed(session, cutoff)]
            if self._outbox is not None and self._deliveries is not None:
                counts.append(await self._prune_deliveries(session, cutoff))
                counts.append(await self._prune_outbox(session, cutoff))
        return max(counts)

    async def _prune_processed(self, session: AsyncSession, cutoff: object) -> int:
        processed = self._processed
        oldest = select(processed.c.event_id).where(processed.c.processed_at < cutoff).limit(self._batch_size)
        result = await session.execute(delete(processed).where(processed.c.event_id.in_(oldest.scalar_subquery())))
        return result.rowcount

    async def _prune_deliveries(self, session: AsyncSession, cutoff: object) -> int:
        deliveries = self._deliveries
        oldest = select(deliveries.c.id).where(deliveries.c.sent_at < cutoff).limit(self._batch_size)
        result = await session.execute(delete(deliveries).where(deliveries.c.id.in_(oldest.scalar_subquery())))
        return result.rowcount

    async def _prune_outbox(self, session: AsyncSession, cutoff: object) -> int:
        outbox, deliveries = self._outbox, self._deliveries
        oldest = (select(outbox.c.seq)
                  .where(outbox.c.sent_at < cutoff, ~exists().where(deliveries.c.seq == outbox.c.seq))
                  .limit(self._batch_size))
        result = await session.execute(delete(outbox).where(outbox.c.seq.in_(oldest.scalar_subquery())))
        return result.rowcount
