"""Invitations: created by a caller (sent at once) or scheduled by an event (sent by the job when due).

Reference rule: the `customer_id` a caller names must be a customer the survey service knows
(from customer events, or from the customer service when the event is still on its way) in
the caller's subtree AND of the dealer the body names; anything
else is the same 422 "unknown customer", answered before consent or fatigue are looked at,
so neither another dealer's customers nor their consent state can be probed (issue 10).
Consent rule: the survey service keeps the survey-consent flag the customer service
publishes (customer.created / customer.updated). A customer known to have refused, or
erased, is never invited. Event-made invitations may be scheduled before the customer event
arrives, so the check runs when the invitation is due, and a customer still unknown then is
not invited.
Fatigue rule: no invitation goes to a customer invited in the last `fatigue_days` days.
Link rule: an invitation to a survey owned above the caller (the manufacturer's CSI invited
by a dealer) is the owner's to deliver: the caller never sees its token or link, and its
survey.invitation.sent names the owner so that only the owner's webhooks receive it.
"""

import secrets
import uuid
from datetime import datetime, timedelta

from services.survey import events, staff
from services.survey.customer_source import CustomerSource
from services.survey.models import CustomerConsent, Invitation, Survey
from services.survey.repository import InvitationFilter, SurveyRepository
from services.survey.schemas import InvitationCreate, InvitationCreated, InvitationRead
from services.survey.settings import SurveySettings
from shared.auth import Principal
from shared.contracts.survey import StaffOnRecord
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.orgs import OrgDirectory
from shared.pagination import PageParams
from shared.problems import Conflict, NotFound, UnprocessableContent


# The one answer to a customer_id that is unknown, outside the caller's subtree or another dealer's.
UNKNOWN_CUSTOMER = [{"field": "customer_id", "message": "unknown customer"}]


def new_token() -> str:
    """192 random bits: unguessable, so the link alone may open one survey once."""
    return secrets.token_urlsafe(24)


def url_for(settings: SurveySettings, token: str) -> str:
    return f"{settings.link_base}/s/{token}"


def shows_link(principal: Principal, survey_org_path: str) -> bool:
    """Whether the caller may see an invitation's token and link: not when the survey is owned above it."""
    return principal.sees(survey_org_path)


def to_read(invitation: Invitation, settings: SurveySettings, *, show_link: bool) -> InvitationRead:
    return InvitationRead(
        id=invitation.id, survey_id=invitation.survey_id, survey_version=invitation.survey_version,
        kind=invitation.kind, customer_id=invitation.customer_id, dealer_code=invitation.dealer_code,
        channel=invitation.channel, context={"ro_number": invitation.ro_number, "vin": invitation.vin},
        staff=staff.of(invitation),
        status=invitation.status, status_reason=invitation.status_reason,  # type: ignore[arg-type]
        url=url_for(settings, invitation.token) if show_link and invitation.status == "sent" else None,
        due_at=invitation.due_at, sent_at=invitation.sent_at, expires_at=invitation.expires_at,
        reminded_at=invitation.reminded_at, responded_at=invitation.responded_at, created_at=invitation.created_at,
        updated_at=invitation.updated_at,
    )


def created(invitation: Invitation, survey: Survey, settings: SurveySettings, principal: Principal) -> InvitationCreated:
    assert invitation.expires_at is not None
    show = shows_link(principal, survey.org_path)
    return InvitationCreated(id=invitation.id, token=invitation.token if show else None,
                             url=url_for(settings, invitation.token) if show else None,
                             expires_at=invitation.expires_at)


async def to_reads(repo: SurveyRepository, settings: SurveySettings,
                   rows: list[Invitation]) -> list[InvitationRead]:
    owners = await repo.survey_owners({row.survey_id for row in rows})
    return [to_read(row, settings, show_link=row.survey_id in owners
                    and shows_link(repo.principal, owners[row.survey_id])) for row in rows]


async def refusal(repo: SurveyRepository, settings: SurveySettings, customer_id: uuid.UUID,
                  consent: CustomerConsent | None, now: datetime) -> tuple[str, str] | None:
    """Why this customer may not be invited now, as (reason code, sentence); None when they may."""
    if consent is None:
        return "no_consent", "The survey service has no consent on record for this customer"
    if consent.erased:
        return "customer_erased", "The customer has been erased"
    if not consent.survey:
        return "no_consent", "The customer has not consented to surveys"
    last = await repo.last_invited(customer_id, now - timedelta(days=settings.fatigue_days))
    if last is not None:
        return "fatigue", f"The customer was invited on {last.isoformat()}, within {settings.fatigue_days} days"
    return None


async def known_customer(repo: SurveyRepository, customers: CustomerSource, caller_token: str,
                         customer_id: uuid.UUID, dealer_code: str) -> CustomerConsent:
    """The customer a body names, or 422: unknown, invisible and another dealer's look the same.

    A customer whose event has not arrived yet is asked of the customer service (as the
    caller), so that create-then-invite works on the next call; every miss takes that path.
    """
    customer = await repo.customer_of(customer_id, dealer_code)
    if customer is None:
        record = await customers.survey_consent(caller_token, customer_id)
        if record is not None and record.dealer_code == dealer_code:
            customer = await repo.remember_consent(record)
    if customer is None:
        raise UnprocessableContent("The customer is not known for this dealer", errors=UNKNOWN_CUSTOMER)
    return customer


async def create_invitation(repo: SurveyRepository, directory: OrgDirectory, customers: CustomerSource,
                            settings: SurveySettings, data: InvitationCreate,
                            caller_token: str) -> tuple[Invitation, Survey]:
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    survey = await repo.get_visible(Survey, data.survey_id)
    if not OrgPath(survey.org_path).contains(dealer.path):
        raise NotFound(f"Survey {survey.id} is not available to dealer {dealer.code}",
                       errors=[{"field": "survey_id", "message": "not available to this dealer"}])
    if survey.published_version is None:
        raise Conflict("Publish the survey before inviting anyone to it", reason="not_published")
    customer = await known_customer(repo, customers, caller_token, data.customer_id, dealer.code)
    served_by = data.context.staff
    if errors := staff.unknown(served_by, await customers.known_staff(caller_token, dealer.code,
                                                                       staff.named(served_by)), "context.staff"):
        raise UnprocessableContent("Unknown staff member", errors=errors)
    await repo.claim_customer(customer.customer_id, wait=True)
    now = utcnow()
    if refused := await refusal(repo, settings, customer.customer_id, customer, now):
        raise Conflict(refused[1], reason=refused[0])
    invitation = Invitation(
        token=new_token(), survey_id=survey.id, survey_version=survey.published_version, kind=survey.kind,
        customer_id=customer.customer_id, dealer_code=dealer.code, org_path=dealer.path, channel=data.channel,
        vin=data.context.vin, ro_number=data.context.ro_number, **staff.columns(served_by),
        status="scheduled", source_key=None, due_at=now,
    )
    await repo.add(invitation)
    await _send(repo, settings, invitation, survey, now, expires_in_days=data.expires_in_days)
    return invitation, survey


async def _send(repo: SurveyRepository, settings: SurveySettings, invitation: Invitation, survey: Survey,
                now: datetime, *, expires_in_days: int | None = None) -> None:
    invitation.status = "sent"
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=expires_in_days or settings.invitation_expiry_days)
    await repo.flush()
    await repo.publish(events.invitation_sent(invitation, survey, url_for(settings, invitation.token)))


async def schedule(repo: SurveyRepository, survey: Survey, *, source_key: str, due_at: datetime,
                   dealer_code: str, org_path: str, customer_id: uuid.UUID, channel: str,
                   vin: str | None = None, ro_number: str | None = None,
                   served_by: StaffOnRecord | None = None, vehicle_model: str | None = None,
                   symptom_codes: list[str] | None = None) -> Invitation | None:
    """An invitation to send when due; None when this fact already scheduled one. `served_by`:
    the staff columns of the visit or delivery it follows; `vehicle_model`, `symptom_codes`: the visit's."""
    if await repo.invitation_from(source_key):
        return None
    assert survey.published_version is not None
    invitation = Invitation(
        token=new_token(), survey_id=survey.id, survey_version=survey.published_version, kind=survey.kind,
        customer_id=customer_id, dealer_code=dealer_code, org_path=org_path, channel=channel, vin=vin,
        ro_number=ro_number, **staff.columns(served_by), vehicle_model=vehicle_model, symptom_codes=symptom_codes,
        status="scheduled", source_key=source_key,
        due_at=due_at,
    )
    await repo.add(invitation)
    return invitation


async def send_due(repo: SurveyRepository, settings: SurveySettings, now: datetime, limit: int = 200) -> int:
    """Send (or cancel, with the reason) every scheduled invitation that is due; returns how many.
    One whose customer another replica's pass is deciding stays due (repo.claim_customer)."""
    handled = 0
    for invitation in await repo.due_invitations(now, limit):
        refused = None
        if invitation.customer_id is not None:
            if not await repo.claim_customer(invitation.customer_id):
                continue
            consent = await repo.consent(invitation.customer_id)
            refused = await refusal(repo, settings, invitation.customer_id, consent, now)
        handled += 1
        if refused:
            invitation.status, invitation.status_reason = "cancelled", refused[0]
            continue
        survey = await repo.get_visible(Survey, invitation.survey_id)
        await _send(repo, settings, invitation, survey, now)
    await repo.flush()
    return handled


async def remind_due(repo: SurveyRepository, settings: SurveySettings, now: datetime, limit: int = 200) -> int:
    """One reminder per unanswered invitation, `reminder_after_days` after it was sent."""
    due = await repo.reminders_due(now - timedelta(days=settings.reminder_after_days), now, limit)
    for invitation in due:
        invitation.reminded_at = now
        survey = await repo.get_visible(Survey, invitation.survey_id)
        await repo.publish(events.invitation_sent(invitation, survey, url_for(settings, invitation.token),
                                                  reminder=True))
    await repo.flush()
    return len(due)


async def list_invitations(repo: SurveyRepository, where: InvitationFilter,
                           page: PageParams) -> tuple[list[Invitation], str | None]:
    return await repo.invitations(where, page)
