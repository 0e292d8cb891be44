"""Recompute every fact and rollup from the source services' records (`csloop kpi rebuild`).

The sources' `GET /internal/facts/<kind>` pages answer in the event payloads' shape, and each
page goes through the recorder of the matching event: a rebuild and the incremental path
cannot disagree on a formula. It runs in one transaction, so readers see the old figures
until the new ones are complete.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.consumers import FOLLOWUP_SCHEDULED, record
from services.kpi.models import FACT_MODELS
from services.kpi.repository_facts import FactStore
from services.kpi.settings import KpiSettings
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.contracts import complaint, customer, survey
from shared.problems import ServiceUnavailable
from shared.replicas import first_url

# (source, facts kind, the event whose recorder takes its items); order matters: cases before alerts read them.
SOURCES = (
    ("survey", "responses", survey.RESPONSE_SUBMITTED),
    ("survey", "invitations", survey.INVITATION_SENT),
    ("survey", "alerts", survey.ALERT_RAISED),
    ("customer", "visits", customer.SERVICE_VISIT_CLOSED),
    ("customer", "deliveries", customer.VEHICLE_DELIVERED),
    ("customer", "followups", FOLLOWUP_SCHEDULED),
    ("customer", "appointments", customer.APPOINTMENT_CHANGED),
    ("customer", "staff", customer.STAFF_CHANGED),
    ("complaint", "complaints", complaint.OPENED),
    # Affected VINs before their completions (a completion of an unknown VIN would date it from then).
    ("complaint", "recalls", complaint.RECALL_VIN_ASSIGNED),
    ("complaint", "recall-completions", complaint.RECALL_COMPLETED),
)
PAGE = 500


async def source_pages(client: httpx.AsyncClient, base_url: str, kind: str, secret: str) -> AsyncIterator[list[dict[str, Any]]]:
    cursor: str | None = None
    while True:
        token = mint_internal_token(system_principal(), secret)
        params = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        try:
            answer = await client.get(f"{base_url}/internal/facts/{kind}", params=params, headers={INTERNAL_HEADER: token})
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Cannot read {kind} from {base_url}: {exc}") from exc
        page = answer.json()
        yield page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


async def rebuild(sessions: async_sessionmaker[AsyncSession], settings: KpiSettings,
                  transport: httpx.AsyncBaseTransport | None = None) -> dict[str, int]:
    # The first replica of each: a rebuild reads every page from one process, which it finds running.
    urls = {"survey": first_url(settings.survey_url), "customer": first_url(settings.customer_url),
            "complaint": first_url(settings.complaint_url)}
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=3.0), transport=transport) as client, \
            sessions() as session, session.begin():
        store = FactStore(session)
        await store.clear(FACT_MODELS)
        for source, kind, event_type in SOURCES:
            counts[kind] = 0
            async for items in source_pages(client, urls[source], kind, settings.internal_secret):
                await record(store, event_type, items)
                counts[kind] += len(items)
        await store.flush()
    return counts
