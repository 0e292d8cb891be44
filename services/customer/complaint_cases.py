"""The complaint service's cases as this service keeps them, from its complaint.* events.

- every complaint event -> the case's summary (ComplaintSummary: number, category, priority,
  status, due time), what the screen pop lists as a caller's open complaints without calling the
  complaint service. Events may come late or out of order; the envelope's time orders them (the
  complaint service writes a case's changes one after another), so an older one never undoes a
  newer one.
- complaint.opened naming a follow-up (a dissatisfied call opened the case) -> the follow-up's
  `complaint_id`: the call and the case name each other (issue 14).

Summaries hold ids, codes and times, no personal data: erasing a customer leaves nothing here to forget.
"""

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.customer.repository import CustomerRepository
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import complaint as contract
from shared.db import utcnow
from shared.events import CloudEvent

# Each event type with the payload it carries; every one states the case's current status.
PAYLOADS: dict[str, type[BaseModel]] = {
    contract.OPENED: contract.ComplaintOpened, contract.STATUS_CHANGED: contract.StatusChanged,
    contract.ESCALATED: contract.Escalated, contract.RESOLVED: contract.Resolved, contract.CLOSED: contract.Closed,
    contract.SLA_BREACHED: contract.SlaBreached,
}


def event_handlers() -> dict[str, EventHandler]:
    return dict.fromkeys(PAYLOADS, on_complaint_event)


async def on_complaint_event(session: AsyncSession, event: CloudEvent) -> None:
    case = PAYLOADS[event.type].model_validate(event.data)
    followup_id = getattr(case, "followup_id", None)
    repo = CustomerRepository(session, system_principal())
    await repo.save_complaint_summary({
        "complaint_id": case.complaint_id, "number": case.number, "dealer_code": case.dealer_code,
        "org_path": case.org_path, "customer_id": case.customer_id, "followup_id": followup_id,
        "category": case.category, "priority": case.priority, "status": case.status, "is_open": case.is_open,
        "opened_at": case.opened_at, "resolution_due": case.resolution_due, "changed_at": event.time,
    })
    if followup_id:
        await repo.link_followup_to_case(followup_id, case.dealer_code, case.complaint_id, utcnow())
