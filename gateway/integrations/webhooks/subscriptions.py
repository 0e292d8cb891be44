"""Webhook rules: who may subscribe where, and which subscriptions an event goes to."""

import base64
import secrets
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import WebhookSubscription
from gateway.identity.orgs import named_org
from gateway.repository import OrgRepository
from gateway.integrations.webhooks.catalogue import BETWEEN_SERVICES, INTERNAL_FIELDS, OWNER_ONLY_EVENTS
from gateway.integrations.webhooks.repository import DeliveryQueue, WebhookRepository
from gateway.integrations.webhooks.schemas import WebhookCreate, WebhookUpdate
from gateway.integrations.webhooks.sealing import SecretBox
from gateway.integrations.webhooks.targets import TargetPolicy, TargetRefused
from shared.auth import system_principal
from shared.db import utcnow
from shared.events import CloudEvent, new_event
from shared.org_path import OrgPath
from shared.outbox import subscribers_for
from shared.problems import UnprocessableContent


def new_secret() -> str:
    """Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def checked_url(url: str, targets: TargetPolicy) -> str:
    try:
        await targets.check(url)
    except TargetRefused as exc:
        raise UnprocessableContent(f"The webhook URL is refused: {exc}", errors=[{"field": "url", "message": str(exc)}]) from exc
    return url


async def create_subscription(orgs: OrgRepository, hooks: WebhookRepository, data: WebhookCreate, *,
                              targets: TargetPolicy, secrets_box: SecretBox) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret in clear (stored sealed: only this answer shows it)."""
    org = await named_org(orgs, data.org_code)
    secret = new_secret()
    subscription = await hooks.add(WebhookSubscription(
        org_code=org.code, org_path=org.org_path, url=await checked_url(data.url, targets),
        event_types=sorted(set(data.event_types)), secret=secrets_box.seal(secret), created_by=hooks.principal.subject,
    ))
    return subscription, secret


async def update_subscription(subscription: WebhookSubscription, data: WebhookUpdate, *, by: str,
                              targets: TargetPolicy, queue: DeliveryQueue) -> WebhookSubscription:
    """The URL (the only check left after validation) first: a refused update changes nothing."""
    if data.url is not None:
        subscription.url = await checked_url(data.url, targets)
    if data.event_types is not None:
        subscription.event_types = sorted(set(data.event_types))
    if data.enabled is True:
        subscription.enabled, subscription.disabled_reason = True, None
    elif data.enabled is False and subscription.enabled:
        now = utcnow()
        subscription.enabled, subscription.disabled_reason = False, f"Disabled by {by} at {now.isoformat()}"
        await queue.cancel_pending(subscription.id, now)  # as after a 410: nothing more is sent
    return subscription


def ping(subscription: WebhookSubscription) -> CloudEvent:
    """The test event: a CloudEvent like any delivery, of a type no subscription matches."""
    return new_event("/csloop/gateway", "webhook.ping", f"webhooks/{subscription.id}", {
        "webhook_id": str(subscription.id), "org_code": subscription.org_code, "org_path": subscription.org_path})


async def visible_subscription(hooks: WebhookRepository, subscription_id: uuid.UUID) -> WebhookSubscription:
    return await hooks.get_visible(WebhookSubscription, subscription_id,
                                   missing=f"No webhook {subscription_id} in your subtree")


def receiving_paths(event: CloudEvent, path: str) -> list[str]:
    """The org paths whose subscriptions may receive the event: its org and its ancestors, or for
    an owner-only event just its owner's (none when the event does not name one, or its path is
    not one of those)."""
    if event.type in BETWEEN_SERVICES:
        return []
    try:
        paths: list[str] = list(OrgPath(path).lineage)
    except ValueError:
        return []
    if event.type not in OWNER_ONLY_EVENTS:
        return paths
    owner = event.data.get(OWNER_ONLY_EVENTS[event.type])
    return [owner] if owner in paths else []


def webhook_payload(event: CloudEvent) -> dict:
    """The event as subscribers receive it: the CloudEvent less the fields kept between services."""
    payload = event.model_dump(mode="json")
    hidden = INTERNAL_FIELDS.get(event.type, frozenset())
    payload["data"] = {name: value for name, value in payload["data"].items() if name not in hidden}
    return payload


async def fan_out(session: AsyncSession, event: CloudEvent) -> None:
    """Consumer handler: queue one delivery per matching subscription, in the event's transaction."""
    await fan_out_many(session, [event])


async def fan_out_many(session: AsyncSession, events: list[CloudEvent]) -> None:
    """Consumer batch handler: the deliveries of a relay's batch, in its transaction. One query
    reads the enabled subscriptions of every org path the batch reaches, one flush queues all
    the deliveries: a batch of 200 events costs what one does. Each event's deliveries are
    independent rows, so the order of events within the batch does not matter.

    An event without `data.org_path` belongs to no subtree, so no subscriber receives it.
    """
    reaching: list[tuple[CloudEvent, list[str]]] = []
    for event in events:
        path = event.data.get("org_path")
        if isinstance(path, str) and path.startswith("/") and (paths := receiving_paths(event, path)):
            reaching.append((event, paths))
    if not reaching:
        return
    hooks = WebhookRepository(session, system_principal())
    at_path: dict[str, list[WebhookSubscription]] = {}
    for subscription in await hooks.enabled_at(sorted({path for _event, paths in reaching for path in paths})):
        at_path.setdefault(subscription.org_path, []).append(subscription)
    deliveries: list[dict[str, Any]] = []
    for event, paths in reaching:
        candidates = [subscription for path in paths for subscription in at_path.get(path, ())]
        if not candidates:
            continue
        by_pattern: dict[str, list[str]] = {}
        for subscription in candidates:
            for pattern in subscription.event_types:
                by_pattern.setdefault(pattern, []).append(str(subscription.id))
        matched = set(subscribers_for(event.type, by_pattern))
        payload = webhook_payload(event)
        deliveries += [
            {"subscription_id": subscription.id, "org_path": subscription.org_path, "event_id": event.id,
             "event_type": event.type, "payload": payload}
            for subscription in candidates if str(subscription.id) in matched
        ]
    if deliveries:
        await hooks.queue(deliveries)
