"""The CloudEvents 1.0 envelope every CSLoop event travels in."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.db import utcnow


class CloudEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)


def new_event(source: str, type_: str, subject: str | None, data: dict[str, Any]) -> CloudEvent:
    """`source` names the producing service (`/csloop/customer`); `type` is e.g. `customer.created`."""
    return CloudEvent(source=source, type=type_, subject=subject, data=data)
