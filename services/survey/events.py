"""What the survey service publishes: the CloudEvents its use cases hand to `repo.publish`,
which records them in the outbox in the caller's transaction."""

from typing import Any

from services.survey import alerts, staff
from services.survey.models import Invitation, Survey, SurveyResponse
from shared.contracts import survey as contract
from shared.events import CloudEvent, new_event


def _event(type_: str, subject: str, payload: contract._Payload) -> CloudEvent:
    return new_event(contract.SOURCE, type_, subject, payload.model_dump(mode="json"))


def invitation_sent(invitation: Invitation, survey: Survey, url: str, *, reminder: bool = False) -> CloudEvent:
    assert invitation.sent_at is not None and invitation.expires_at is not None
    payload = contract.InvitationSent(
        dealer_code=invitation.dealer_code, org_path=invitation.org_path, survey_id=invitation.survey_id,
        survey_code=survey.code, survey_org_code=survey.org_code, survey_org_path=survey.org_path,
        survey_version=invitation.survey_version, kind=invitation.kind,
        customer_id=invitation.customer_id, vin=invitation.vin, ro_number=invitation.ro_number,
        staff=staff.of(invitation), invitation_id=invitation.id, channel=invitation.channel,  # type: ignore[arg-type]
        url=url, sent_at=invitation.sent_at, expires_at=invitation.expires_at,
    )
    type_ = contract.INVITATION_REMINDED if reminder else contract.INVITATION_SENT
    return _event(type_, f"survey-invitations/{invitation.id}", payload)


def _common(response: SurveyResponse, survey_code: str) -> dict[str, Any]:
    return {
        "dealer_code": response.dealer_code, "org_path": response.org_path, "survey_id": response.survey_id,
        "survey_code": survey_code, "survey_version": response.survey_version, "kind": response.kind,
        "customer_id": response.customer_id, "vin": response.vin, "ro_number": response.ro_number,
        "staff": staff.of(response), "response_id": response.id, "submitted_at": response.created_at,
        "scores": contract.Scores.model_validate(response.scores), "integrity": integrity_of(response),
    }


def integrity_of(response: SurveyResponse) -> contract.Integrity:
    # An imported row not yet flushed has no column defaults applied: it is clean.
    return contract.Integrity(status=response.integrity_status or "clean",  # type: ignore[arg-type]
                              flags=response.integrity_flags or [])


def response_submitted(response: SurveyResponse, survey_code: str) -> CloudEvent:
    payload = contract.ResponseSubmitted(invitation_id=response.invitation_id, **_common(response, survey_code))
    return _event(contract.RESPONSE_SUBMITTED, f"survey-responses/{response.id}", payload)


def alert_raised(response: SurveyResponse, survey_code: str, priority: str) -> CloudEvent:
    payload = contract.AlertRaised(
        reasons=[contract.AlertReason.model_validate(reason) for reason in response.alerts],
        priority=priority, **_common(response, survey_code), **alerts.evidence(response),  # type: ignore[arg-type]
    )
    return _event(contract.ALERT_RAISED, f"survey-responses/{response.id}", payload)


def integrity_changed(response: SurveyResponse, survey_code: str, *, reviewed: bool) -> CloudEvent:
    """survey.response.reviewed after a review, survey.response.flagged when a later flag was raised on it."""
    common = _common(response, survey_code)
    del common["scores"]
    payload = contract.ResponseIntegrityChanged(reviewed_at=response.reviewed_at, **common)
    type_ = contract.RESPONSE_REVIEWED if reviewed else contract.RESPONSE_FLAGGED
    return _event(type_, f"survey-responses/{response.id}", payload)
