"""The idempotent consumer: `POST /internal/events` applies each event's effect exactly once.

The handler's effect and the event id are written in one transaction; the unique event id
turns a redelivery into a no-op. Only service-to-service callers (scope `internal`) may post.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Column, Index, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, current_principal
from shared.db import UTCDateTime, utcnow
from shared.events import CloudEvent
from shared.problems import Forbidden

logger = logging.getLogger("csloop.consumer")

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events", metadata,
        Column("event_id", String(64), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        Index("ix_processed_events_processed_at", "processed_at"),  # pruning after the retention period
    )


class EventConsumer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], processed: Table, handlers: dict[str, EventHandler]) -> None:
        self._sessions = sessions
        self._processed = processed
        self.handlers = handlers

    async def handle(self, event: CloudEvent) -> str:
        """Apply the event once; returns `applied`, `duplicate` or `ignored`."""
        handler = self.handlers.get(event.type)
        if handler is None:
            return "ignored"
        try:
            async with self._sessions() as session, session.begin():
                seen = await session.scalar(select(self._processed.c.event_id).where(self._processed.c.event_id == event.id))
                if seen:
                    return "duplicate"
                await session.execute(insert(self._processed).values(event_id=event.id, type=event.type, processed_at=utcnow()))
                await handler(session, event)
        except IntegrityError:
            # A concurrent delivery of the same event won the race; its effect stands.
            async with self._sessions() as session:
                if await session.scalar(select(self._processed.c.event_id).where(self._processed.c.event_id == event.id)):
                    return "duplicate"
            raise
        return "applied"

    async def handle_batch(self, events: list[CloudEvent]) -> dict[str, str]:
        """Apply a relay's batch: together in one transaction (one commit, not hundreds), or, if
        that fails, each on its own so one bad event holds up only itself. Raises when any event
        still failed: the sender then retries the batch, and what was applied reads as duplicate.
        """
        try:
            return await self.handle_together(events)
        except Exception:
            logger.warning("a batch of %d events failed together; applying them one by one", len(events), exc_info=True)
        outcomes: dict[str, str] = {}
        failed: list[Exception] = []
        for event in events:
            try:
                outcomes[event.id] = await self.handle(event)
            except Exception as exc:
                failed.append(exc)
        if failed:
            raise failed[0]
        return outcomes

    async def handle_together(self, events: list[CloudEvent]) -> dict[str, str]:
        """All of the batch in one transaction, or (on any error) none of it."""
        outcomes: dict[str, str] = {}
        async with self._sessions() as session, session.begin():
            ids = [event.id for event in events]
            seen = set((await session.scalars(
                select(self._processed.c.event_id).where(self._processed.c.event_id.in_(ids)))).all())
            for event in events:
                handler = self.handlers.get(event.type)
                if handler is None:
                    outcomes[event.id] = "ignored"
                elif event.id in seen:
                    outcomes.setdefault(event.id, "duplicate")
                else:
                    seen.add(event.id)
                    await session.execute(insert(self._processed).values(event_id=event.id, type=event.type, processed_at=utcnow()))
                    await handler(session, event)
                    outcomes[event.id] = "applied"
        return outcomes


async def _apply(consumer: EventConsumer, event: CloudEvent) -> str:
    outcome = await consumer.handle(event)
    logger.info("event %s %s: %s", event.type, event.id, outcome)
    return outcome


def internal_events_router(consumer_of: Callable[[Request], EventConsumer]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/internal/events")
    async def receive_events(
        events: CloudEvent | list[CloudEvent], request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> dict[str, Any]:
        """One event, or a batch from a relay; each is applied in its own transaction."""
        if "internal" not in principal.scopes:
            raise Forbidden("Only CSLoop services deliver events")
        consumer = consumer_of(request)
        if isinstance(events, CloudEvent):
            return {"id": events.id, "outcome": await _apply(consumer, events)}
        outcomes = await consumer.handle_batch(events)
        logger.info("batch of %d events: %d applied", len(events), sum(o == "applied" for o in outcomes.values()))
        return {"outcomes": outcomes}

    return router
