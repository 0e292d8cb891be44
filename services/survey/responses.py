"""The public survey page's two calls (read by token, answer once) and reading stored responses.

Token states, each a distinct problem type so the page can say the right thing:
unknown (or not sent yet) -> 404 survey-link-unknown; expired or withdrawn -> 410
survey-link-expired; answered -> 410 survey-link-used on read. Submitting again with the
same answers returns the first result (a phone that retried); different answers -> 409
survey-already-answered.
"""

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

from services.survey import alerts, events, integrity, scoring, staff, validation
from services.survey.definition import Definition
from services.survey.models import SurveyResponse
from services.survey.repository import ResponseFilter, SurveyRepository, TokenRepository
from services.survey.schemas import (LinkDealer, PublicQuestion, PublicResponseRead, PublicSurvey, ResponseIntegrity,
                                     ResponseRead)
from services.survey.settings import SurveySettings
from shared.auth import Principal
from shared.contracts.survey import IntegrityFlag
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
    if invitation.first_opened_at is None:  # how long the answer took is counted from here
        await repo.mark_opened(invitation.id, utcnow())
    definition = (await repo.pinned_version(invitation.survey_id, invitation.survey_version)).definition
    assert invitation.expires_at is not None
    return PublicSurvey(
        survey_id=invitation.survey_id, version=invitation.survey_version, kind=definition.kind,
        title=definition.title, factors=definition.factors,
        questions=[PublicQuestion.model_validate(q.model_dump(exclude={"critical": True, "role": True, "options": {
            "__all__": {"quality_evidence"}}}))
                   for q in definition.questions],
        dealer_code=invitation.dealer_code, expires_at=invitation.expires_at,
    )


async def link_dealer(repo: TokenRepository, token: str) -> LinkDealer:
    invitation = await _open_invitation(repo, token)
    return LinkDealer(dealer_code=invitation.dealer_code, org_path=invitation.org_path)


class Submitted(NamedTuple):
    response: Any  # read by attribute, like a stored row
    created: bool
    # The group flags this response raised whose groups have earlier members the flag has not
    # reached (it completed the group, or the flag was switched on since): review.flag_group's work.
    # Empty when it joined a group flagged before: its own flags are in its own event.
    spread: list[IntegrityFlag]


async def submit(repo: TokenRepository, token: str, submitted: dict[str, Any], signals: integrity.Signals,
                 settings: SurveySettings) -> Submitted:
    """Store the answers with their scores, alerts and integrity flags.

    The invitation is claimed first (one UPDATE that only an open invitation passes); bad
    answers then raise, and the request's rollback gives the claim back.
    """
    now = utcnow()
    claimed = await repo.claim(token, now)
    if claimed is None:
        return Submitted(await _answered_before(repo, token, submitted), False, [])
    pinned = await repo.pinned_version(claimed.survey_id, claimed.survey_version)
    answers, scores, reasons = assess(pinned.definition, submitted)
    duration = (now - claimed.first_opened_at).total_seconds() if claimed.first_opened_at is not None else None
    found = claimed.integrity_rules
    rules = integrity.IntegrityFlags.model_validate(found) if found is not None else integrity.default_flags(settings)
    text = integrity.text_hash(pinned.definition, answers)
    raised = _own_flags(pinned.definition, answers, duration, signals, rules, settings)
    flags = integrity.integrity_of(raised)
    values = {
        "id": uuid.uuid4(), "invitation_id": claimed.id, "survey_id": claimed.survey_id,
        "survey_version": claimed.survey_version, "kind": claimed.kind, "customer_id": claimed.customer_id,
        "dealer_code": claimed.dealer_code, "org_path": claimed.org_path, "vin": claimed.vin,
        "ro_number": claimed.ro_number, **staff.columns(claimed), **alerts.visit_columns(claimed), "submitted": submitted, "answers": answers, "scores": scores,
        "score_index": scores["index"], "nps_category": scores["nps_category"], "alerts": reasons, "created_at": now,
        "updated_at": now, "duration_seconds": duration, "client_hash": signals.client_hash,
        "device_hash": signals.device_hash, "text_hash": text, "integrity_status": flags.status,
        "integrity_flags": list(flags.flags), "reviewed_at": None, "reviewed_by": None, "review_note": None,
    }
    # Built before the history is known, with the response's own flags: recorded by the INSERT
    # itself unless a history rule fires (TokenRepository.add_response).
    submitted_events = events_of(SimpleNamespace(**values), pinned.survey_code)
    history = await repo.add_response(values, now - timedelta(days=rules.shared_device.days), submitted_events,
                                      integrity.shared_device_from(rules.shared_device),
                                      integrity.duplicate_text_from(rules.duplicate_text))
    # The history rules count only the same dealer's other responses (the INSERT returned the counts).
    spread: list[IntegrityFlag] = []  # group flags the earlier members still need (flag_group)
    if integrity.shared_device(history.device_customers + 1, rules.shared_device):
        raised.append("shared_device")
        if history.device_awaiting:
            spread.append("shared_device")
    if integrity.duplicate_text(history.same_text, rules.duplicate_text):
        raised.append("duplicate_text")
        if history.text_awaiting:
            spread.append("duplicate_text")
    if len(raised) > len(flags.flags):  # a history flag: one more statement, for flagged responses only
        flags = integrity.integrity_of(raised)
        values |= {"integrity_status": flags.status, "integrity_flags": list(flags.flags)}
        await repo.set_integrity(values["id"], flags.status, values["integrity_flags"], now)
        submitted_events = []  # they say the flags as they were: built again below
    response = SimpleNamespace(**values)  # the events' and the answer's view of the row (no ORM object to build)
    if not history.published:  # on SQLite, or a history rule fired
        await repo.publish(*(submitted_events or events_of(response, pinned.survey_code)))
    return Submitted(response, True, spread)


def _own_flags(definition: Definition, answers: dict[str, Any], duration: float | None, signals: integrity.Signals,
               rules: integrity.IntegrityFlags, settings: SurveySettings) -> list[str]:
    """The flags a response raises by itself (no history): answer time, answers, where it came from."""
    expected = integrity.expected_seconds(definition, answers, settings.integrity_seconds_per_question)
    checks = (("speeder", integrity.speeder(duration, expected, rules.speeder)),
              ("straight_line", integrity.straight_line(definition, answers, rules.straight_line)),
              ("dealer_network", integrity.dealer_network(signals.dealer_network, rules.dealer_network)))
    return [flag for flag, fired in checks if fired]


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


def to_read(response: SurveyResponse, caller: Principal) -> ResponseRead:
    """The response as `caller` may see it: the device and address hashes only above the dealer
    (a dealer could otherwise match its own tablet's hash against its customers' answers)."""
    above = caller.org_path != response.org_path and caller.sees(response.org_path)
    return ResponseRead(
        id=response.id, invitation_id=response.invitation_id, survey_id=response.survey_id,
        survey_version=response.survey_version, kind=response.kind, dealer_code=response.dealer_code,
        external_id=response.external_id, customer_id=response.customer_id, vin=response.vin,
        ro_number=response.ro_number, staff=staff.of(response), answers=response.answers,
        scores=scoring.rounded(response.scores), alerts=response.alerts, submitted_at=response.created_at,
        updated_at=response.updated_at, integrity=ResponseIntegrity(
            status=response.integrity_status, flags=response.integrity_flags, duration_seconds=response.duration_seconds,
            reviewed_at=response.reviewed_at, review_note=response.review_note if above else None,
            client_hash=response.client_hash if above else None, device_hash=response.device_hash if above else None),
    )


async def list_responses(repo: SurveyRepository, where: ResponseFilter,
                         page: PageParams) -> tuple[list[SurveyResponse], str | None]:
    return await repo.responses(where, page)
