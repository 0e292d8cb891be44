"""The public survey page's two calls (read by token, answer once) and reading stored responses.

Token states, each a distinct problem type so the page can say the right thing:
unknown (or not sent yet) -> 404 survey-link-unknown; expired or withdrawn -> 410
survey-link-expired; answered -> 410 survey-link-used on read. Submitting again with the
same answers returns the first result (a phone that retried); different answers -> 409
survey-already-answered.
"""

import uuid
from types import SimpleNamespace
from typing import Any

from services.survey import alerts, events, scoring, staff, validation
from services.survey.definition import Definition
from services.survey.models import SurveyResponse
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


async def _open_invitation(repo: TokenRepository, token: str) -> Any:
    """The token's invitation (a row read by attribute), unless unknown or not sent yet."""
    invitation = await repo.invitation(token)
    if invitation is None or invitation.status == "scheduled":
        raise LinkUnknown("This survey link is not valid")
    return invitation


def _check_open(invitation: Any) -> None:
    if invitation.status == "responded":
        raise LinkUsed("This survey has already been answered. Thank you!")
    if invitation.status == "cancelled" or invitation.expires_at is None or invitation.expires_at <= utcnow():
        raise LinkExpired("This survey link has expired")


async def public_survey(repo: TokenRepository, token: str) -> PublicSurvey:
    invitation = await _open_invitation(repo, token)
    _check_open(invitation)
    definition = (await repo.pinned_version(invitation.survey_id, invitation.survey_version)).definition
    assert invitation.expires_at is not None
    return PublicSurvey(
        survey_id=invitation.survey_id, version=invitation.survey_version, kind=definition.kind,
        title=definition.title, factors=definition.factors,
        questions=[PublicQuestion.model_validate(q.model_dump(exclude={"critical", "role"}))
                   for q in definition.questions],
        dealer_code=invitation.dealer_code, expires_at=invitation.expires_at,
    )


async def submit(repo: TokenRepository, token: str, submitted: dict[str, Any]) -> tuple[Any, bool]:
    """Store the answers with their scores and alerts; returns (response, created), the response
    read by attribute like a stored row.

    The invitation is claimed first (one UPDATE that only an open invitation passes); bad
    answers then raise, and the request's rollback gives the claim back.
    """
    now = utcnow()
    claimed = await repo.claim(token, now)
    if claimed is None:
        return await _answered_before(repo, token, submitted), False
    pinned = await repo.pinned_version(claimed.survey_id, claimed.survey_version)
    answers, scores, reasons = assess(pinned.definition, submitted)
    values = {
        "id": uuid.uuid4(), "invitation_id": claimed.id, "survey_id": claimed.survey_id,
        "survey_version": claimed.survey_version, "kind": claimed.kind, "customer_id": claimed.customer_id,
        "dealer_code": claimed.dealer_code, "org_path": claimed.org_path, "vin": claimed.vin,
        "ro_number": claimed.ro_number, **staff.columns(claimed), "submitted": submitted, "answers": answers, "scores": scores,
        "score_index": scores["index"], "nps_category": scores["nps_category"], "alerts": reasons, "created_at": now,
        "updated_at": now,
    }
    await repo.add_response(values)
    response = SimpleNamespace(**values)  # the events' and the answer's view of the row (no ORM object to build)
    await repo.publish(*events_of(response, pinned.survey_code))
    return response, True


async def _answered_before(repo: TokenRepository, token: str, submitted: dict[str, Any]) -> Any:
    """Why a token could not be claimed: the first response when these answers are its answers
    (a phone that retried), else the problem that says why."""
    invitation = await _open_invitation(repo, token)
    if invitation.status == "responded":
        first = await repo.response_to(invitation.id)
        if first is not None and first.submitted == submitted:
            return first
        raise AlreadyAnswered("This survey has already been answered; answers cannot be changed")
    _check_open(invitation)
    # Open now but not when claimed: it was sent in between (the scheduler's job), so not answered.
    raise LinkUnknown("This survey link is not valid")


def assess(definition: Definition, submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(clean answers, scores, alert reasons) of answers to `definition`, or 422 naming every bad question."""
    answers = validation.clean_answers(definition, submitted)
    scores = scoring.score(definition, answers)
    return answers, scores, alerts.reasons(definition, answers, scores)


def events_of(response: Any, survey_code: str) -> list[CloudEvent]:
    """survey.response.submitted, and survey.alert.raised when a rule fired."""
    submitted = [events.response_submitted(response, survey_code)]
    if level := alerts.priority(response.alerts):
        submitted.append(events.alert_raised(response, survey_code, level))
    return submitted


def public_read(response: Any) -> PublicResponseRead:
    return PublicResponseRead(id=response.id, survey_id=response.survey_id, version=response.survey_version,
                              kind=response.kind, submitted_at=response.created_at, answers=response.answers,
                              scores=scoring.rounded(response.scores))


def to_read(response: SurveyResponse) -> ResponseRead:
    return ResponseRead(
        id=response.id, invitation_id=response.invitation_id, survey_id=response.survey_id,
        survey_version=response.survey_version, kind=response.kind, dealer_code=response.dealer_code,
        external_id=response.external_id, customer_id=response.customer_id, vin=response.vin,
        ro_number=response.ro_number, staff=staff.of(response), answers=response.answers,
        scores=scoring.rounded(response.scores), alerts=response.alerts, submitted_at=response.created_at,
        updated_at=response.updated_at,
    )


async def list_responses(repo: SurveyRepository, where: ResponseFilter,
                         page: PageParams) -> tuple[list[SurveyResponse], str | None]:
    return await repo.responses(where, page)
