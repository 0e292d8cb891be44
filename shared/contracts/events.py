"""The catalogue of CSLoop's events: each type, the service that publishes it and the model of
its `data`. Built from the contract modules' own constants and models, so a name lives in one
place; a contract constant without an entry here fails
tests/gateway/integrations/test_event_types.py."""

from dataclasses import dataclass

from pydantic import BaseModel

from shared.contracts import complaint, customer, kpi, survey


@dataclass(frozen=True)
class EventKind:
    type: str
    source: str
    data: type[BaseModel]
    description: str


def _kinds(module: object, *entries: tuple[str, type[BaseModel], str]) -> tuple[EventKind, ...]:
    source = module.SOURCE  # type: ignore[attr-defined]
    return tuple(EventKind(type_, source, data, description) for type_, data, description in entries)


CATALOGUE: tuple[EventKind, ...] = (
    *_kinds(
        customer,
        (customer.CUSTOMER_CREATED, customer.CustomerChanged, "A customer was created (ids and consent, no contact data)."),
        (customer.CUSTOMER_UPDATED, customer.CustomerChanged, "A customer's record or consent changed."),
        (customer.CUSTOMER_ERASED, customer.CustomerErased, "A customer was erased; anonymise what you hold about them."),
        (customer.VEHICLE_DELIVERED, customer.VehicleDelivered, "A new vehicle was delivered to a customer."),
        (customer.SERVICE_VISIT_CLOSED, customer.ServiceVisitClosed, "A service visit (repair order) was closed."),
        (customer.SERVICE_VISIT_UPDATED, customer.ServiceVisitClosed,
         "A closed service visit was corrected (replaced or patched); sent instead of a second service_visit.closed."),
        (customer.PROSPECT_CREATED, customer.ProspectChanged, "A sales prospect was recorded."),
        (customer.PROSPECT_UPDATED, customer.ProspectChanged, "A sales prospect's level or interest changed."),
        (customer.FOLLOWUP_SCHEDULED, customer.FollowUpScheduled, "A follow-up task is due (sent again when its due time moves)."),
        (customer.FOLLOWUP_COMPLETED, customer.FollowUpCompleted, "A follow-up task was completed (with the call's result)."),
        (customer.FOLLOWUP_ASSIGNED, customer.FollowUpAssigned, "A follow-up task was assigned to a staff member."),
        (customer.FOLLOWUP_UNREACHABLE, customer.FollowUpUnreachable,
         "A follow-up call reached nobody in max_attempts attempts (send an SMS instead)."),
        (customer.FOLLOWUP_ISSUE_FOUND, customer.FollowUpIssueFound,
         "A follow-up call found a dissatisfied customer; a complaint case is opened for it."),
        (customer.FOLLOWUP_CANCELLED, customer.FollowUpCancelled,
         "An open follow-up task was cancelled (its customer was erased)."),
        (customer.APPOINTMENT_CHANGED, customer.AppointmentChanged, "An appointment was booked, arrived, missed or cancelled."),
        (customer.STAFF_CHANGED, customer.StaffChanged, "A staff member was added, renamed, given another role or retired."),
        (customer.LIFECYCLE_CHANGED, customer.LifecycleChanged,
         "A customer's lifecycle (prospect, active, at_risk, lapsed, won_back) changed, by a visit or by time passing."),
        (customer.INTERACTION_LOGGED, customer.InteractionLogged,
         "A contact with a customer or prospect was recorded (ids and channel; no phone, no summary)."),
        (customer.CAMPAIGN_MESSAGE, customer.CampaignMessage,
         "A launched care campaign's message to one customer is to be sent (to the campaign's owner only; no contact data)."),
    ),
    *_kinds(
        survey,
        (survey.INVITATION_SENT, survey.InvitationSent, "A survey invitation is to be sent (to the survey owner only)."),
        (survey.INVITATION_REMINDED, survey.InvitationSent, "A survey reminder is to be sent (to the survey owner only)."),
        (survey.RESPONSE_SUBMITTED, survey.ResponseSubmitted, "A survey response was submitted, with its scores."),
        (survey.ALERT_RAISED, survey.AlertRaised, "A survey response broke an alert rule."),
        (survey.RESPONSE_FLAGGED, survey.ResponseIntegrityChanged,
         "A survey response was flagged after submission (survey integrity); kept out of the KPIs until reviewed."),
        (survey.RESPONSE_REVIEWED, survey.ResponseIntegrityChanged,
         "A flagged survey response was reviewed valid (back in the KPIs) or invalid (out for good)."),
    ),
    *_kinds(
        complaint,
        (complaint.OPENED, complaint.ComplaintOpened, "A complaint case was opened."),
        (complaint.STATUS_CHANGED, complaint.StatusChanged, "A complaint case moved to another status."),
        (complaint.ESCALATED, complaint.Escalated, "A complaint case was escalated to the org above."),
        (complaint.RESOLVED, complaint.Resolved, "A complaint case was resolved."),
        (complaint.CLOSED, complaint.Closed, "A complaint case was closed."),
        (complaint.SLA_BREACHED, complaint.SlaBreached, "A complaint case missed its first-response or resolution due time."),
        (complaint.QUALITY_SIGNAL_RAISED, complaint.QualitySignalRaised,
         "Product-quality cases of one model and symptom came from several dealers within the window."),
        (complaint.TECH_REQUEST_OPENED, complaint.TechRequestOpened,
         "A dealer asked a technical question; its distributor's technical team owes the answer."),
        (complaint.TECH_REQUEST_ANSWERED, complaint.TechRequestAnswered, "A technical request was answered."),
        (complaint.TECH_REQUEST_ESCALATED, complaint.TechRequestEscalated,
         "A technical request went to the next technical team up (by hand, or its answer due time passed)."),
        (complaint.TECH_REQUEST_CLOSED, complaint.TechRequestClosed, "The dealer closed its technical request."),
        (complaint.BULLETIN_PUBLISHED, complaint.BulletinPublished,
         "A countermeasure bulletin was published to the dealers below its sender."),
        (complaint.BULLETIN_OVERDUE, complaint.BulletinOverdue,
         "A dealer left a bulletin unacknowledged for 3 business days (its service manager gets a follow-up)."),
        (complaint.RECALL_VIN_ASSIGNED, complaint.RecallVinAssigned,
         "Affected VINs of a recall were given to their responsible dealer (the selling one, else the last servicing one)."),
        (complaint.RECALL_COMPLETED, complaint.RecallCompleted, "A visit with the remedy op code completed a recall on a VIN."),
    ),
    *_kinds(
        kpi,
        (kpi.IMPROVEMENT_ACTION_OVERDUE, kpi.ImprovementActionOverdue,
         "An improvement plan's action passed its due date undone (to the plan's org and those above it)."),
        (kpi.IMPROVEMENT_ACTION_DONE, kpi.ImprovementActionDone,
         "An improvement plan's action was done (one from a complaint's corrective action names the complaint)."),
        (kpi.EVALUATION_PUBLISHED, kpi.EvaluationPublished, "A dealer evaluation was published and frozen."),
    ),
)
