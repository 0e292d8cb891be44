"""The idempotent consumer: `POST /internal/events` applies each event's effect exactly once.

The handler's effect and the event id are written in one transaction; the unique event id
turns a redelivery into a no-op. Only service-to-service callers (scope `internal`) may post.

A relay's batch is applied in one transaction. Its event ids are recorded in one statement
(`INSERT ... ON CONFLICT DO NOTHING RETURNING`): the ids it returns are the events not seen
before, the others are duplicates, and a concurrent delivery of the same id waits for the
first to commit and then reads as a duplicate. The new events then go to the service's
`BatchHandler`, when it has one, in a single call (its set-based path); otherwise to each
event's handler in delivery order, as if they had come one by one.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import JSON, Column, Index, MetaData, String, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, current_principal
from shared.db import UTCDateTime, utcnow
from shared.events import CloudEvent
from shared.problems import Forbidden

logger = logging.getLogger("csloop.consumer")

# PostgreSQL's deadlock_detected: two transactions took the same rows in opposite orders (two
# replicas' batches refreshing the same customers, a case number and a vehicle's dealer) and this
# one was rolled back so the other could go on. The batch is tried again at once, where the
# fallback would apply it event by event and NATS would redeliver what still failed 5 s later.
DEADLOCK_DETECTED = "40P01"
DEADLOCK_RETRIES = 2

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
# Applies several new events in the transaction it is given, each of a type with an EventHandler, in
# delivery order; it must leave what those handlers would leave applied one by one, in that order.
BatchHandler = Callable[[AsyncSession, list[CloudEvent]], Awaitable[None]]


def insert_many(session: AsyncSession, table: Table,
                columns: dict[str, list[Any]]) -> tuple[Any, list[dict[str, Any]] | None]:
    """An INSERT of many rows, given column by column (lists of one length), to add ON CONFLICT
    and RETURNING to, and the parameters to run it with: a batch handler's set-based write.

    On PostgreSQL one statement over a column of values each (`unnest` of arrays): its text does
    not depend on how many rows there are, so a connection prepares it once, where a VALUES list
    would be a new statement to parse, plan and cache for every batch size. Elsewhere (SQLite, in
    process) the rows are the parameters of an executemany.
    """
    names = list(columns)
    if session.get_bind().dialect.name != "postgresql":
        return sqlite.insert(table), [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    arrays = func.unnest(*(_array(table.c[name], values) for name, values in columns.items())).table_valued(*names)
    arrays = arrays.render_derived()
    values = (cast(arrays.c[name], JSON) if isinstance(table.c[name].type, JSON) else arrays.c[name] for name in names)
    return postgresql.insert(table).from_select(names, select(*values)), None


def _array(column: Column[Any], values: list[Any]) -> Any:
    """One column's values as an array parameter. JSON values go as text (a list value would be taken
    for another dimension of the array), and are cast back to JSON by the statement."""
    if isinstance(column.type, JSON):
        return bindparam(f"many_{column.name}", [None if v is None else json.dumps(v) for v in values],
                         type_=postgresql.ARRAY(Text))
    return bindparam(f"many_{column.name}", values, type_=postgresql.ARRAY(column.type))


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events", metadata,
        Column("event_id", String(64), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        Index("ix_processed_events_processed_at", "processed_at"),  # pruning after the retention period
    )


class EventConsumer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], processed: Table, handlers: dict[str, EventHandler],
                 batch_handler: BatchHandler | None = None) -> None:
        self._sessions = sessions
        self._processed = processed
        self.handlers = handlers
        self._batch_handler = batch_handler

    async def handle(self, event: CloudEvent) -> str:
        """Apply the event once; returns `applied`, `duplicate` or `ignored`."""
        handler = self.handlers.get(event.type)
        if handler is None:
            return "ignored"
        async with self._sessions() as session, session.begin():
            if not await self._record_new(session, [event]):
                return "duplicate"
            await handler(session, event)
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
        """All of the batch in one transaction, or (on any error) none of it; tried again when it
        lost a deadlock."""
        lost = 0
        while True:
            try:
                return await self._apply_together(events)
            except DBAPIError as exc:
                lost += 1
                if getattr(exc.orig, "sqlstate", None) != DEADLOCK_DETECTED or lost > DEADLOCK_RETRIES:
                    raise
                logger.info("a batch of %d events lost a deadlock; trying it again", len(events))

    async def _apply_together(self, events: list[CloudEvent]) -> dict[str, str]:
        outcomes = {event.id: "ignored" for event in events if event.type not in self.handlers}
        handled: dict[str, CloudEvent] = {}
        for event in events:
            if event.type in self.handlers:
                handled.setdefault(event.id, event)  # an id twice in one batch is applied once
        async with self._sessions() as session, session.begin():
            new = await self._record_new(session, list(handled.values()))
            fresh = [event for event in handled.values() if event.id in new]
            if self._batch_handler is not None and fresh:
                await self._batch_handler(session, fresh)
            else:
                for event in fresh:
                    await self.handlers[event.type](session, event)
        return outcomes | {event_id: "applied" if event_id in new else "duplicate" for event_id in handled}

    async def _record_new(self, session: AsyncSession, events: list[CloudEvent]) -> set[str]:
        """Record the events' ids as processed in this transaction; answers the ids not recorded before."""
        if not events:
            return set()
        statement, parameters = insert_many(session, self._processed, {
            "event_id": [event.id for event in events], "type": [event.type for event in events],
            "processed_at": [utcnow()] * len(events)})
        statement = statement.on_conflict_do_nothing().returning(self._processed.c.event_id)
        return set((await session.execute(statement, parameters)).scalars())


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
        """One event, or a batch from a relay (applied together: `EventConsumer.handle_batch`)."""
        if "internal" not in principal.scopes:
            raise Forbidden("Only CSLoop services deliver events")
        consumer = consumer_of(request)
        if isinstance(events, CloudEvent):
            return {"id": events.id, "outcome": await _apply(consumer, events)}
        outcomes = await consumer.handle_batch(events)
        logger.info("batch of %d events: %d applied", len(events), sum(o == "applied" for o in outcomes.values()))
        return {"outcomes": outcomes}

    return router
