"""The events the complaint service consumes. `shared.consumer` applies each event id once; the
unique survey response of survey-alert cases also makes a re-published alert open one case.

- survey.alert.raised -> a case (channel survey_alert, the alert's priority, linked to the response)
- customer.erased -> the customer's cases stay, unlinked from the customer, their free text blanked
"""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaint import cases
from services.complaint.cases import entry
from services.complaint.repository import ComplaintRepository
from services.complaint.schemas import ComplaintCreate
from services.complaint.settings import ComplaintSettings
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import customer as customer_contract
from shared.contracts import survey as survey_contract
from shared.db import utcnow
from shared.events import CloudEvent
from shared.orgs import OrgDirectory, OrgInfo


def _repo(session: AsyncSession) -> ComplaintRepository:
    return ComplaintRepository(session, system_principal())


def _description(alert: survey_contract.AlertRaised) -> str:
    reasons = "; ".join(reason.detail for reason in alert.reasons) or "alert rule broken"
    return f"Survey {alert.survey_code} response flagged: {reasons}"[:4000]


async def on_customer_erased(session: AsyncSession, event: CloudEvent) -> None:
    data = customer_contract.CustomerErased.model_validate(event.data)
    repo, now = _repo(session), utcnow()
    for case in await repo.customer_cases(data.customer_id):
        # The case and its facts stay for the KPIs; what links or describes the person goes.
        case.customer_id, case.vin, case.description, case.erased_at = None, None, "", now
        if case.resolution:
            case.resolution = {**case.resolution, "summary": ""}
        case.version += 1
        await repo.blank_timeline_notes(case.id)
        await repo.add(entry(case, repo.principal, "customer_erased", now))


def event_handlers(settings: ComplaintSettings, directory: OrgDirectory) -> dict[str, EventHandler]:
    async def on_alert_raised(session: AsyncSession, event: CloudEvent) -> None:
        alert = survey_contract.AlertRaised.model_validate(event.data)
        if alert.submitted_at < utcnow() - timedelta(days=settings.alert_case_max_age_days):
            # Old results a third party delivered late: the visit is long past; a new P1 case
            # with an SLA clock starting now would measure nothing but the import.
            return
        repo = _repo(session)
        if await repo.alert_case(alert.response_id):
            return
        # Trusted producer: fields are taken as sent (a VIN the survey stored is not re-judged here).
        data = ComplaintCreate.model_construct(
            dealer_code=alert.dealer_code, customer_id=alert.customer_id, vin=alert.vin, channel="survey_alert",
            category="other", priority=alert.priority, description=_description(alert), ro_number=alert.ro_number,
            survey_response_id=alert.response_id, assignee=None, vehicle_model=None, symptom_codes=[])
        dealer = OrgInfo(code=alert.dealer_code, name=alert.dealer_code, kind="dealer", path=alert.org_path)
        await cases.open_case(repo, directory, settings, data, dealer)

    return {
        survey_contract.ALERT_RAISED: on_alert_raised,
        customer_contract.CUSTOMER_ERASED: on_customer_erased,
    }
