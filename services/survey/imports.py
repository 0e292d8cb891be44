"""Third-party survey results in bulk (`POST /v1/survey-responses/import`).

CSI and SSI studies are often run by a third party who delivers the results afterwards.
Each row is checked, scored and alerted exactly like a public submission
(`responses.assess`), against the survey's newest published version, and stored with the
study's own `submitted_at` (with an offset, not in the future) so KPI trends get their
history. Rows are idempotent by (survey_id, external_id): a row sent again is a duplicate
and changes nothing. Bad rows are reported (row 1 = the first item) and the good ones kept;
each stored row publishes survey.response.submitted (and survey.alert.raised when a rule
fires) in the same transaction.

Only the organisation that owns the survey imports into it (issue 10): a dealer scored by the
manufacturer's CSI must not deliver "third-party" results about itself. A row's `customer_id`
must be a customer of the row's dealer in the caller's subtree; unknown and foreign ids get
the same row error. A row's `staff` codes must be staff of its dealer (services/survey/staff.py):
the customer service is asked once per dealer, for every code the import names there.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.survey import invitations, responses, staff
from services.survey.customer_source import CustomerSource
from services.survey.definition import Definition
from services.survey.models import Survey, SurveyResponse
from services.survey.repository import SurveyRepository
from services.survey.schemas import ResponseImport, ResponseImportRow
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Conflict, Forbidden, NotFound, UnprocessableContent, validation_errors


@dataclass
class Outcome:
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, row: int, problems: list[dict[str, str]]) -> None:
        self.failed += 1
        self.errors += [{"row": row, **problem} for problem in problems]


class _RowError(Exception):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(problems[0]["message"])
        self.problems = problems


class _Dealers:
    """The dealers rows name, each looked up once per import and checked against the caller and the survey."""

    def __init__(self, repo: SurveyRepository, directory: OrgDirectory, survey: Survey) -> None:
        self.repo, self.directory, self.survey = repo, directory, survey
        # A dealer, or the row errors naming it gets.
        self._known: dict[str, OrgInfo | list[dict[str, str]]] = {}

    async def get(self, code: str) -> OrgInfo:
        if code not in self._known:
            self._known[code] = await self._look_up(code)
        found = self._known[code]
        if isinstance(found, list):
            raise _RowError(found)
        return found

    async def _look_up(self, code: str) -> OrgInfo | list[dict[str, str]]:
        try:
            dealer = await self.directory.dealer_for(self.repo.principal, code)
        except (NotFound, UnprocessableContent) as exc:
            return exc.errors or [{"field": "dealer_code", "message": exc.detail}]
        if not OrgPath(self.survey.org_path).contains(dealer.path):
            return [{"field": "dealer_code", "message": "the survey is not available to this dealer"}]
        return dealer


class _StaffCodes:
    """The staff codes rows name, checked per dealer: one question to the customer service for each."""

    def __init__(self, customers: CustomerSource, caller_token: str, rows: list[tuple[int, ResponseImportRow]]) -> None:
        self.customers, self.caller_token = customers, caller_token
        self.named: dict[str, set[str]] = {}
        for _, row in rows:
            self.named.setdefault(row.dealer_code, set()).update(staff.named(row.staff))
        self._known: dict[str, set[str]] = {}

    async def check(self, row: ResponseImportRow, dealer: OrgInfo) -> None:
        if row.staff is None:
            return
        if dealer.code not in self._known:
            self._known[dealer.code] = await self.customers.known_staff(self.caller_token, dealer.code,
                                                                        self.named[row.dealer_code])
        if errors := staff.unknown(row.staff, self._known[dealer.code], "staff"):
            raise _RowError(errors)


async def import_responses(repo: SurveyRepository, directory: OrgDirectory, customers: CustomerSource,
                           caller_token: str, data: ResponseImport) -> Outcome:
    survey = await repo.get_visible(Survey, data.survey_id)
    if survey.org_path != repo.principal.org_path:
        raise Forbidden(f"Survey {survey.id} belongs to {survey.org_code}; only it imports third-party results")
    if survey.published_version is None:
        raise Conflict("Publish the survey before importing responses to it", reason="not_published")
    version = await repo.version(survey.id, survey.published_version)
    assert version is not None
    definition = Definition.model_validate(version.definition)
    dealers = _Dealers(repo, directory, survey)
    outcome = Outcome()
    rows: list[tuple[int, ResponseImportRow]] = []
    for number, raw in enumerate(data.responses, start=1):
        try:
            rows.append((number, ResponseImportRow.model_validate(raw)))
        except ValidationError as exc:
            outcome.fail(number, validation_errors(exc.errors()))
    seen = await repo.imported_ids(survey.id, [row.external_id for _, row in rows])
    customers_of = await repo.customer_dealers([row.customer_id for _, row in rows if row.customer_id is not None])
    staff_codes = _StaffCodes(customers, caller_token, rows)
    now = utcnow()
    stored: list[SurveyResponse] = []
    for number, row in rows:
        if row.external_id in seen:
            outcome.duplicates += 1
            continue
        try:
            stored.append(await _response(row, survey, definition, dealers, customers_of, staff_codes, now))
        except _RowError as exc:
            outcome.fail(number, exc.problems)
            continue
        seen.add(row.external_id)
    await repo.add_all(stored)
    for response in stored:
        await repo.publish(*responses.events_of(response, survey.code))
    outcome.created = len(stored)
    return outcome


async def _response(row: ResponseImportRow, survey: Survey, definition: Definition, dealers: _Dealers,
                    customers: dict[uuid.UUID, str], staff_codes: _StaffCodes, now: datetime) -> SurveyResponse:
    try:
        submitted_at = row.submitted_at.astimezone(now.tzinfo)
    except OverflowError:
        raise _RowError([{"field": "submitted_at", "message": "out of range"}]) from None
    if submitted_at > now:
        raise _RowError([{"field": "submitted_at", "message": "in the future"}])
    dealer = await dealers.get(row.dealer_code)
    if row.customer_id is not None and customers.get(row.customer_id) != dealer.code:
        raise _RowError(invitations.UNKNOWN_CUSTOMER)
    await staff_codes.check(row, dealer)
    try:
        answers, scores, reasons = responses.assess(definition, row.answers)
    except UnprocessableContent as exc:
        raise _RowError(exc.errors or [{"field": "answers", "message": exc.detail}]) from None
    assert survey.published_version is not None
    return SurveyResponse(
        id=uuid.uuid4(), invitation_id=None, external_id=row.external_id, survey_id=survey.id,
        survey_version=survey.published_version, kind=survey.kind, customer_id=row.customer_id,
        dealer_code=dealer.code, org_path=dealer.path, vin=row.vin, ro_number=row.ro_number, **staff.columns(row.staff),
        submitted=row.answers,
        answers=answers, scores=scores, score_index=scores["index"], nps_category=scores["nps_category"],
        alerts=reasons, created_at=submitted_at,
    )
