"""Deliver an event to a service in process, exactly as a relay would."""

from typing import Any

import httpx

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.events import CloudEvent, new_event


async def post_event(client: httpx.AsyncClient, secret: str, type_: str, data: dict[str, Any], *, source: str,
                     event_id: str | None = None) -> tuple[CloudEvent, str]:
    """POST one event to /internal/events; returns the event and the consumer's outcome."""
    event = new_event(source, type_, None, data)
    if event_id:
        event.id = event_id
    token = mint_internal_token(system_principal(), secret)
    answer = await client.post("/internal/events", json=event.model_dump(mode="json"), headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200, answer.text
    return event, answer.json()["outcome"]
