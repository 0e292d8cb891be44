"""Contact history and the screen pop: recording an interaction, finding a caller by phone."""

from datetime import datetime

from services.customer import events
from services.customer.dealers import dealer_for_write
from services.customer.models import ComplaintSummary, FollowUp, Interaction
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository
from services.customer.schemas import (
    FollowUpRead, InteractionCreate, InteractionRead, LookupCustomer, LookupProspect, LookupResult, OpenComplaint,
    ServiceVisitRead,
)
from services.customer.staff import require_staff_code
from shared.contracts.customer import CALL_KINDS
from shared.db import utcnow
from shared.orgs import OrgDirectory
from shared.problems import UnprocessableContent

WHO = ("customer_id", "prospect_id", "phone")


async def log_interaction(repo: CustomerRepository, directory: OrgDirectory, data: InteractionCreate) -> Interaction:
    named = [field for field in WHO if getattr(data, field) is not None]
    if len(named) != 1:
        raise UnprocessableContent("Name whom the contact was with: one of customer_id, prospect_id or phone",
                                   errors=[{"field": field, "message": "give exactly one of customer_id, prospect_id, phone"}
                                           for field in (named or WHO)])
    dealer = await dealer_for_write(repo.principal, directory, data.dealer_code)
    # A record of another dealer, or one the caller cannot see, is "unknown" alike (API.md).
    if data.customer_id and ((person := await repo.customer(data.customer_id)) is None or person.dealer_code != dealer.code):
        raise UnprocessableContent("Unknown customer", errors=[{"field": "customer_id", "message": "unknown customer"}])
    if data.prospect_id and ((lead := await repo.prospect(data.prospect_id)) is None or lead.dealer_code != dealer.code):
        raise UnprocessableContent("Unknown prospect", errors=[{"field": "prospect_id", "message": "unknown prospect"}])
    await require_staff_code(repo, dealer.code, "agent", data.agent)
    now = utcnow()
    interaction = Interaction(dealer_code=dealer.code, org_path=dealer.path, created_at=now, updated_at=now,
                              **data.model_dump(exclude={"dealer_code"}))
    await repo.add(interaction)
    await repo.publish(events.interaction_logged(interaction))
    return interaction


async def shown(repo: CustomerRepository, rows: list[Interaction]) -> list[InteractionRead]:
    """The interactions as this caller may see them (privacy.PiiView)."""
    sharing = await repo.sharing_customers({row.customer_id for row in rows if row.customer_id})
    view = PiiView.of(repo.principal)
    return [view.interaction(row, shares_with_manufacturer=row.customer_id in sharing) for row in rows]


async def lookup(repo: CustomerRepository, phone: str) -> LookupResult:
    """Who is calling from `phone` (normalised): customers and prospects the caller may find by it,
    each with its open tasks, customers with their open complaints (the complaint service's cases
    as its events told this service) and last visit. Masked as every read is."""
    view = PiiView.of(repo.principal)
    people = await repo.customers_with_phone(phone)
    leads = await repo.prospects_with_phone(phone)
    tasks = await repo.open_followups_of(FollowUp.customer_id, [person.id for person in people])
    lead_tasks = await repo.open_followups_of(FollowUp.prospect_id, [lead.id for lead in leads])
    cases = await repo.open_complaints_of([person.id for person in people])
    standings = await repo.standings_of([person.id for person in people])
    customers = []
    for person in people:
        visit = await repo.last_visit(person.id)
        customers.append(LookupCustomer(
            **view.customer(person, standings.get(person.id)).model_dump(),
            open_followups=[FollowUpRead.model_validate(task) for task in tasks if task.customer_id == person.id],
            open_complaints=[_open_complaint(case) for case in cases if case.customer_id == person.id],
            last_visit=ServiceVisitRead.model_validate(visit) if visit else None))
    prospects = [LookupProspect(
        **view.prospect(lead).model_dump(),
        open_followups=[FollowUpRead.model_validate(task) for task in lead_tasks if task.prospect_id == lead.id])
        for lead in leads]
    return LookupResult(customers=customers, prospects=prospects)


# An attempt's channel as a contact channel: a visit is a face-to-face contact.
ATTEMPT_CHANNELS = {"phone": "phone", "sms": "sms", "wechat": "wechat", "visit": "walk_in"}


async def record_attempt_contact(repo: CustomerRepository, followup: FollowUp, *, channel: str, agent: str | None,
                                 summary: str | None, at: datetime) -> Interaction:
    """The contact history entry of a follow-up attempt: outbound, with the task's customer or
    prospect; a greeting (birthday, holiday) is `care`, every other task `follow_up`."""
    reason = "follow_up" if followup.kind in CALL_KINDS else "care"
    interaction = Interaction(
        dealer_code=followup.dealer_code, org_path=followup.org_path, customer_id=followup.customer_id,
        prospect_id=followup.prospect_id, channel=ATTEMPT_CHANNELS[channel], direction="outbound", reason=reason,
        summary=summary, agent=agent, started_at=at, created_at=at, updated_at=at)
    await repo.add(interaction)
    await repo.publish(events.interaction_logged(interaction))
    return interaction


def _open_complaint(case: ComplaintSummary) -> OpenComplaint:
    return OpenComplaint(id=case.complaint_id, number=case.number, category=case.category, priority=case.priority,
                         status=case.status, opened_at=case.opened_at, resolution_due=case.resolution_due)
