"""HTTP layer of the webhooks: the event catalogue, and create, read, update, test, delete and
delivery history of subscriptions (scope webhooks:admin). No answer but the creation shows a secret."""

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from gateway.deps import Caller, SessionDep, caller_with
from gateway.identity.idempotency import IdempotentCreate
from gateway.repository import OrgRepository
from gateway.integrations.webhooks import subscriptions
from gateway.integrations.webhooks.catalogue import OWNER_ONLY_EVENTS, WEBHOOK_EVENTS, data_schema
from gateway.integrations.webhooks.repository import DeliveryQueue, WebhookRepository
from gateway.integrations.webhooks.schemas import (
    DeliveryRead, WebhookCreate, WebhookCreated, WebhookEventType, WebhookEventTypeList, WebhookRead,
    WebhookTestResult, WebhookUpdate,
)
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["webhooks"])
WebhookAdmin = caller_with("webhooks:admin")
Paging = Annotated[PageParams, Depends(page_params)]

# The catalogue is fixed for the life of the process: built once.
EVENT_TYPES = WebhookEventTypeList(items=[
    WebhookEventType(type=kind.type, source=kind.source, description=kind.description,
                     owner_only=kind.type in OWNER_ONLY_EVENTS, data_schema=data_schema(kind))
    for kind in WEBHOOK_EVENTS
])


@router.get("/v1/event-types", responses=problem_responses(401))
async def list_event_types(caller: Caller) -> WebhookEventTypeList:
    """Every event type a webhook can subscribe to, with the JSON Schema of its `data`. A
    subscription names types, families (`customer.`) or `*`; deliveries are CloudEvents."""
    return EVENT_TYPES


@router.post("/v1/webhooks", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 403, 404, 409, 422))
async def create_webhook(data: WebhookCreate, caller: WebhookAdmin, session: SessionDep, request: Request,
                         once: IdempotentCreate) -> WebhookCreated:
    """Subscribe a URL to event types of an organisation's subtree; the secret is shown only here."""
    settings = request.app.state.settings
    subscription, secret = await subscriptions.create_subscription(
        OrgRepository(session, caller), WebhookRepository(session, caller), data,
        targets=settings.webhook_targets(), secrets_box=settings.webhook_secrets(),
    )
    created = WebhookCreated(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)
    return await once.answer_secret(created, created=f"the webhook {subscription.id}", record_id=str(subscription.id),
                                    location=f"/v1/webhooks/{subscription.id}")


@router.get("/v1/webhooks", responses=problem_responses(400, 401, 403, 422))
async def list_webhooks(caller: WebhookAdmin, session: SessionDep, paging: Paging, updated_since: UpdatedSince) -> Page[WebhookRead]:
    """The webhooks of your subtree."""
    rows, next_cursor = await WebhookRepository(session, caller).page(paging, updated_since)
    return Page[WebhookRead](items=[WebhookRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/webhooks/{webhook_id}", responses=problem_responses(401, 403, 404, 422))
async def get_webhook(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep) -> WebhookRead:
    """One webhook of your subtree (never its secret)."""
    return WebhookRead.model_validate(await subscriptions.visible_subscription(WebhookRepository(session, caller), webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", responses=problem_responses(401, 403, 404, 422))
async def update_webhook(webhook_id: uuid.UUID, data: WebhookUpdate, caller: WebhookAdmin, session: SessionDep,
                         request: Request) -> WebhookRead:
    """Change the URL or event types, or disable / re-enable (after a 410 Gone) a webhook."""
    subscription = await subscriptions.visible_subscription(WebhookRepository(session, caller), webhook_id)
    updated = await subscriptions.update_subscription(
        subscription, data, by=caller.subject, targets=request.app.state.settings.webhook_targets(),
        queue=DeliveryQueue(session))
    return WebhookRead.model_validate(updated)


@router.post("/v1/webhooks/{webhook_id}/test", responses=problem_responses(401, 403, 404, 422))
async def test_webhook(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep,
                       request: Request) -> WebhookTestResult:
    """Send a signed `webhook.ping` now (also to a disabled webhook) and say what the target
    answered. A target that fails is still a 200 here: `delivered` is false, `error` says why."""
    subscription = await subscriptions.visible_subscription(WebhookRepository(session, caller), webhook_id)
    event = subscriptions.ping(subscription)
    await session.commit()  # the pooled connection is not held while the target takes its time
    message_id = f"msg_ping_{uuid.uuid4().hex}"
    status_code, error, started = await request.app.state.dispatcher.post_signed(
        subscription.url, subscription.secret, message_id, event.model_dump(mode="json"))
    return WebhookTestResult(webhook_id=subscription.id, message_id=message_id, delivered=error is None,
                             status_code=status_code, error=error, duration_ms=int((time.monotonic() - started) * 1000))


@router.delete("/v1/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(401, 403, 404, 422))
async def delete_webhook(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep) -> Response:
    """Delete a webhook and its delivery history; nothing more is sent to it."""
    hooks = WebhookRepository(session, caller)
    await hooks.remove(await subscriptions.visible_subscription(hooks, webhook_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/webhooks/{webhook_id}/deliveries", responses=problem_responses(400, 401, 403, 404, 422))
async def list_deliveries(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep,
                          paging: Paging, updated_since: UpdatedSince) -> Page[DeliveryRead]:
    """Delivery history of a webhook, oldest first: each event, its attempts, status codes and errors."""
    hooks = WebhookRepository(session, caller)
    await subscriptions.visible_subscription(hooks, webhook_id)
    rows, next_cursor = await hooks.deliveries(webhook_id, paging, updated_since)
    return Page[DeliveryRead](items=[DeliveryRead.of(row) for row in rows], next_cursor=next_cursor)
