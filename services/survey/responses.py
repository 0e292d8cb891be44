"""The public survey page's two calls (read by token, answer once) and reading stored responses.

Token states, each a distinct problem type so the page can say the right thing:
unknown (or not sent yet) -> 404 survey-link-unknown; expired or withdrawn -> 410
survey-link-expired; answered -> 410 survey-link-used on read. Submitting again with the
same answers returns the first result (a phone that retried); different answers -> 409
survey-already-answered.
"""

from typing import Any

from sqlalchemy.exc import IntegrityError

from services.survey import alerts, events, scoring, validation
from services.survey.definition import Definition
from services.survey.models import Invitation, SurveyResponse
from services.survey.repository import ResponseFilter, SurveyRepository, TokenRepository
from services.survey.schemas import PublicQuestion, PublicResponseRead, PublicSurvey, ResponseRead
from shared.db import utcnow
from shared.events import CloudEvent
from shared.pagination import PageParams
from shared.problems import Problem


class LinkUnknown(Problem):
    status, slug, title = 404, "survey-link-unknown", "Unknown survey link"


class LinkExpired(Problem):
    status, slug, title = 410, "survey-link-expired", "Survey link expired"


class LinkUsed(Problem):
    status, slug, title = 410, "survey-link-used", "Survey already answered"


class AlreadyAnswered(Problem):
    status, slug, title = 409, "survey-already-answered", "Survey already answered"


async def _open_invitation(repo: TokenRepository, token: str) -> Invitation:
    invitation = await repo.invitation(token)
    if invitation is None or invitation.status == "scheduled":
        raise LinkUnknown("This survey link is not valid")
    return invitation


def _check_open(invitation: Invitation) -> None:
    if invitation.status == "responded":
        raise LinkUsed("This survey has already been answered. Thank you!")
    if invitation.status == "cancelled" or invitation.expires_at is None or invitation.expires_at <= utcnow():
        raise LinkExpired("This survey link has expired")


async def _definition(repo: TokenRepository, invitation: Invitation) -> Definition:
    version = await repo.version(invitation.survey_id, invitation.survey_version)
    assert version is not None, "an invitation always pins a published version"
    return Definition.model_validate(version.definition)


async def public_survey(repo: TokenRepository, token: str) -> PublicSurvey:
    invitation = await _open_invitation(repo, token)
    _check_open(invitation)
    definition = await _definition(repo, invitation)
    assert invitation.expires_at is not None
    return PublicSurvey(
        survey_id=invitation.survey_id, version=invitation.survey_version, kind=definition.kind,
        title=definition.title, factors=definition.factors,
        questions=[PublicQuestion.model_validate(q.model_dump(exclude={"critical", "role"}))
                   for q in definition.questions],
        dealer_code=invitation.dealer_code, expires_at=invitation.expires_at,
    )


async def submit(repo: TokenRepository, token: str, submitted: dict[str, Any]) -> tuple[SurveyResponse, bool]:
    """Store the answers with their scores and alerts; returns (response, created)."""
    invitation = await _open_invitation(repo, token)
    if invitation.status == "responded":
        first = await repo.response_to(invitation.id)
        if first is not None and first.submitted == submitted:
            return first, False
        raise AlreadyAnswered("This survey has already been answered; answers cannot be changed")
    _check_open(invitation)
    definition = await _definition(repo, invitation)
    answers, scores, reasons = assess(definition, submitted)
    now = utcnow()
    response = SurveyResponse(
        invitation_id=invitation.id, survey_id=invitation.survey_id, survey_version=invitation.survey_version,
        kind=invitation.kind, customer_id=invitation.customer_id, dealer_code=invitation.dealer_code,
        org_path=invitation.org_path, vin=invitation.vin, ro_number=invitation.ro_number, submitted=submitted,
        answers=answers, scores=scores, score_index=scores["index"], nps_category=scores["nps_category"],
        alerts=reasons, created_at=now,
    )
    invitation.status, invitation.responded_at = "responded", now
    try:
        await repo.add(response)
    except IntegrityError as exc:  # a second tab submitted at the same moment and won
        raise AlreadyAnswered("This survey has already been answered") from exc
    await repo.publish(*events_of(response, await repo.survey_code(invitation.survey_id)))
    return response, True


def assess(definition: Definition, submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(clean answers, scores, alert reasons) of answers to `definition`, or 422 naming every bad question."""
    answers = validation.clean_answers(definition, submitted)
    scores = scoring.score(definition, answers)
    return answers, scores, alerts.reasons(definition, answers, scores)


def events_of(response: SurveyResponse, survey_code: str) -> list[CloudEvent]:
    """survey.response.submitted, and survey.alert.raised when a rule fired."""
    submitted = [events.response_submitted(response, survey_code)]
    if level := alerts.priority(response.alerts):
        submitted.append(events.alert_raised(response, survey_code, level))
    return submitted


def public_read(response: SurveyResponse) -> PublicResponseRead:
    return PublicResponseRead(id=response.id, survey_id=response.survey_id, version=response.survey_version,
                              kind=response.kind, submitted_at=response.created_at, answers=response.answers,
                              scores=scoring.rounded(response.scores))


def to_read(response: SurveyResponse) -> ResponseRead:
    return ResponseRead(
        id=response.id, invitation_id=response.invitation_id, survey_id=response.survey_id,
        survey_version=response.survey_version, kind=response.kind, dealer_code=response.dealer_code,
        external_id=response.external_id, customer_id=response.customer_id, vin=response.vin,
        ro_number=response.ro_number, answers=response.answers,
        scores=scoring.rounded(response.scores), alerts=response.alerts, submitted_at=response.created_at,
    )


async def list_responses(repo: SurveyRepository, where: ResponseFilter,
                         page: PageParams) -> tuple[list[SurveyResponse], str | None]:
    return await repo.responses(where, page)
