"""Every SQL statement of the webhooks: subscriptions and deliveries per caller subtree, the
fan-out lookup, and the dispatcher's queue (claimed with a lease, as the outbox relay does)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import WebhookDelivery, WebhookSubscription
from shared.consumer import insert_many
from shared.db import utcnow
from shared.pagination import PageParams, list_page
from shared.scope import ScopedRepository

# A claimed delivery is left alone by other dispatchers this long (longer than one request).
CLAIM_LEASE_SECONDS = 120


class WebhookRepository(ScopedRepository):
    async def page(self, params: PageParams, updated_since: datetime | None = None) -> tuple[list[WebhookSubscription], str | None]:
        return await list_page(self.session, self.select(WebhookSubscription), WebhookSubscription, params, updated_since)

    async def deliveries(self, subscription_id: uuid.UUID, params: PageParams,
                         updated_since: datetime | None = None) -> tuple[list[WebhookDelivery], str | None]:
        statement = self.select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        return await list_page(self.session, statement, WebhookDelivery, params, updated_since)

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        await self.session.flush()
        return subscription

    async def remove(self, subscription: WebhookSubscription) -> None:
        # Explicit, not only ON DELETE CASCADE: SQLite enforces it only with foreign_keys on.
        await self.session.execute(self.delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
        await self.session.delete(subscription)
        await self.session.flush()

    async def enabled_at(self, paths: list[str]) -> list[WebhookSubscription]:
        """Enabled subscriptions of exactly these org paths (an event's org and its ancestors).
        The fan-out asks as the system principal: an event's subscribers sit anywhere above it."""
        statement = self.select(WebhookSubscription).where(
            WebhookSubscription.org_path.in_(paths), WebhookSubscription.enabled.is_(True))
        return list((await self.session.scalars(statement)).all())

    async def queue(self, deliveries: list[dict[str, Any]]) -> None:
        """Queue deliveries (subscription, event and payload of each) for the dispatcher, in the
        consumed events' transaction: one statement for a relay's whole batch (`insert_many`,
        whose text does not change with the number of rows, so it is prepared once)."""
        now, count = utcnow(), len(deliveries)
        statement, parameters = insert_many(self.session, WebhookDelivery.__table__, {
            "id": [uuid.uuid4() for _ in range(count)],
            **{name: [delivery[name] for delivery in deliveries]
               for name in ("subscription_id", "org_path", "event_id", "event_type", "payload")},
            "status": ["pending"] * count, "attempts": [0] * count, "next_attempt_at": [now] * count,
            "history": [[]] * count, "created_at": [now] * count})
        await self.session.execute(statement, parameters)


@dataclass(frozen=True)
class DueDelivery:
    id: uuid.UUID
    url: str
    secret: str  # sealed (sealing.py): opened only to sign
    payload: dict
    attempts: int


class DeliveryQueue:
    """The dispatcher's view: the whole tree (it acts for the system, not a caller)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, limit: int) -> list[DueDelivery]:
        now = utcnow()
        due = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at).limit(limit)
        )
        if self.session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        claimed = (
            update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
            .returning(WebhookDelivery.id)
        )
        ids = list((await self.session.scalars(claimed)).all())
        if not ids:
            return []
        rows = await self.session.execute(
            select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.id.in_(ids)))
        return [DueDelivery(d.id, s.url, s.secret, d.payload, d.attempts) for d, s in rows]

    async def delivery(self, delivery_id: uuid.UUID) -> tuple[WebhookDelivery, WebhookSubscription] | None:
        row = (await self.session.execute(
            select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.id == delivery_id))).first()
        return (row[0], row[1]) if row else None

    async def cancel_pending(self, subscription_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.status == "pending")
            .values(status="cancelled", last_error="subscription disabled", next_attempt_at=at))
