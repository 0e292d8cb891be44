"""What the survey service publishes: CloudEvents written to the outbox in the caller's transaction."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.survey.models import TABLES, Invitation, Survey, SurveyResponse
from shared.contracts import survey as contract
from shared.events import new_event
from shared.outbox import record_event


async def _publish(session: AsyncSession, type_: str, subject: str, payload: contract._Payload) -> None:
    await record_event(session, TABLES.outbox, new_event(contract.SOURCE, type_, subject, payload.model_dump(mode="json")))


async def invitation_sent(session: AsyncSession, invitation: Invitation, survey: Survey, url: str,
                          *, reminder: bool = False) -> None:
    assert invitation.sent_at is not None and invitation.expires_at is not None
    payload = contract.InvitationSent(
        dealer_code=invitation.dealer_code, org_path=invitation.org_path, survey_id=invitation.survey_id,
        survey_code=survey.code, survey_org_code=survey.org_code, survey_org_path=survey.org_path,
        survey_version=invitation.survey_version, kind=invitation.kind,
        customer_id=invitation.customer_id, vin=invitation.vin, ro_number=invitation.ro_number,
        invitation_id=invitation.id, channel=invitation.channel,  # type: ignore[arg-type]
        url=url, sent_at=invitation.sent_at, expires_at=invitation.expires_at,
    )
    type_ = contract.INVITATION_REMINDED if reminder else contract.INVITATION_SENT
    await _publish(session, type_, f"survey-invitations/{invitation.id}", payload)


def _common(response: SurveyResponse, survey_code: str) -> dict[str, Any]:
    return {
        "dealer_code": response.dealer_code, "org_path": response.org_path, "survey_id": response.survey_id,
        "survey_code": survey_code, "survey_version": response.survey_version, "kind": response.kind,
        "customer_id": response.customer_id, "vin": response.vin, "ro_number": response.ro_number,
        "response_id": response.id, "submitted_at": response.created_at,
        "scores": contract.Scores.model_validate(response.scores),
    }


async def response_submitted(session: AsyncSession, response: SurveyResponse, survey_code: str) -> None:
    payload = contract.ResponseSubmitted(invitation_id=response.invitation_id, **_common(response, survey_code))
    await _publish(session, contract.RESPONSE_SUBMITTED, f"survey-responses/{response.id}", payload)


async def alert_raised(session: AsyncSession, response: SurveyResponse, survey_code: str, priority: str) -> None:
    payload = contract.AlertRaised(
        reasons=[contract.AlertReason.model_validate(reason) for reason in response.alerts],
        priority=priority, **_common(response, survey_code),  # type: ignore[arg-type]
    )
    await _publish(session, contract.ALERT_RAISED, f"survey-responses/{response.id}", payload)
