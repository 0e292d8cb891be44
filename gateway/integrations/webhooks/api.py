"""HTTP layer of the webhooks: create, list, delete, delivery history (scope webhooks:admin)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from gateway.deps import SessionDep, caller_with
from gateway.repository import OrgRepository
from gateway.integrations.webhooks import subscriptions
from gateway.integrations.webhooks.repository import WebhookRepository
from gateway.integrations.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
WebhookAdmin = caller_with("webhooks:admin")
Paging = Annotated[PageParams, Depends(page_params)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 403, 404, 422))
async def create_webhook(data: WebhookCreate, caller: WebhookAdmin, session: SessionDep, request: Request) -> WebhookCreated:
    """Subscribe a URL to event types of an organisation's subtree; the secret is shown only here."""
    subscription = await subscriptions.create_subscription(
        OrgRepository(session, caller), WebhookRepository(session, caller), data,
        targets=request.app.state.settings.webhook_targets(),
    )
    return WebhookCreated.model_validate(subscription)


@router.get("", responses=problem_responses(400, 401, 403))
async def list_webhooks(caller: WebhookAdmin, session: SessionDep, paging: Paging) -> Page[WebhookRead]:
    """The webhooks of your subtree."""
    rows, next_cursor = await WebhookRepository(session, caller).page(paging)
    return Page[WebhookRead](items=[WebhookRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403, 404))
async def delete_webhook(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep) -> Response:
    """Delete a webhook and its delivery history; nothing more is sent to it."""
    hooks = WebhookRepository(session, caller)
    await hooks.remove(await subscriptions.visible_subscription(hooks, webhook_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", responses=problem_responses(400, 401, 403, 404))
async def list_deliveries(webhook_id: uuid.UUID, caller: WebhookAdmin, session: SessionDep,
                          paging: Paging) -> Page[DeliveryRead]:
    """Delivery history of a webhook, oldest first: each event, its attempts, status codes and errors."""
    hooks = WebhookRepository(session, caller)
    await subscriptions.visible_subscription(hooks, webhook_id)
    rows, next_cursor = await hooks.deliveries(webhook_id, paging)
    return Page[DeliveryRead](items=[DeliveryRead.of(row) for row in rows], next_cursor=next_cursor)
