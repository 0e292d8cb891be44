"""Request and response bodies of the webhook endpoints."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.types import OrgCode

# `customer.created`, a family `customer.`, or `*` (see shared.outbox.subscribers_for).
EventType = Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?)$", max_length=100)]


class WebhookCreate(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    event_types: list[EventType] = Field(min_length=1, max_length=50)
    org_code: OrgCode


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    org_code: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="`whsec_...`: verifies the signatures; shown only in this response")


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
    delivered_at: datetime | None
    history: list[DeliveryAttempt]

    @classmethod
    def of(cls, delivery: Any) -> "DeliveryRead":
        read = cls.model_validate(delivery)
        # A finished delivery has no next attempt, whatever the queue column holds.
        return read if delivery.status == "pending" else read.model_copy(update={"next_attempt_at": None})
