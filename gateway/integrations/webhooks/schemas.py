"""Request and response bodies of the webhook endpoints."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from gateway.integrations.webhooks.catalogue import SUBSCRIBABLE
from shared.types import OrgCode

_SUBSCRIBABLE = frozenset(SUBSCRIBABLE)


def _known(pattern: str) -> str:
    if pattern not in _SUBSCRIBABLE:
        raise ValueError(f"unknown event type '{pattern}' (GET /v1/event-types lists them; "
                         "a family such as 'customer.' takes all of its types, '*' every type)")
    return pattern


# `customer.created`, a family `customer.`, or `*` (matched as shared.outbox.subscribers_for does),
# of the catalogue only: a typo would otherwise be a subscription that never receives anything.
EventType = Annotated[str, Field(max_length=100), AfterValidator(_known),
                      WithJsonSchema({"type": "string", "enum": list(SUBSCRIBABLE)})]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=50)]
Url = Annotated[str, Field(min_length=8, max_length=2000)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "url": "https://dms.example.com/csloop/events", "event_types": ["complaint.opened"], "org_code": "D001"
    }]})

    url: Url
    event_types: EventTypes
    org_code: OrgCode


class WebhookUpdate(BaseModel):
    """What a PATCH changes; an absent (or null) field is kept. `enabled: true` re-enables a
    subscription that a 410 Gone disabled."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "enabled": True
    }]})

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    org_code: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")


class WebhookCreated(WebhookRead):
    secret: str = Field(description="`whsec_...`: verifies the signatures; shown only in this response")


class WebhookTestResult(BaseModel):
    """What the target answered to a signed `webhook.ping` (the same signing as every delivery)."""

    webhook_id: uuid.UUID
    message_id: str = Field(description="The `webhook-id` header sent")
    delivered: bool = Field(description="The target answered 2xx")
    status_code: int | None = Field(description="The target's HTTP status; null when it did not answer")
    error: str | None
    duration_ms: int


class WebhookEventType(BaseModel):
    type: str
    source: str = Field(description="The CloudEvents `source` of the publishing service")
    description: str
    owner_only: bool = Field(description="Delivered only to the webhooks of the org that sends it on (the survey's or the "
                                         "campaign's owner), never to orgs below it")
    data_schema: dict[str, Any] = Field(description="JSON Schema of the event's `data`")


class WebhookEventTypeList(BaseModel):
    items: list[WebhookEventType]


class DeliveryAttempt(BaseModel):
    attempt: int
    status_code: int | None
    error: str | None
    at: datetime
    duration_ms: int


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")
    delivered_at: datetime | None
    history: list[DeliveryAttempt]

    @classmethod
    def of(cls, delivery: Any) -> "DeliveryRead":
        read = cls.model_validate(delivery)
        # A finished delivery has no next attempt, whatever the queue column holds.
        return read if delivery.status == "pending" else read.model_copy(update={"next_attempt_at": None})
