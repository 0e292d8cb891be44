"""Every SQL statement of the survey service.

`SurveyRepository` is built for one principal and filters by its org scope. Surveys are the
one exception to plain subtree scoping: a survey owned at path P is also *usable* below P
(a manufacturer's CSI serves every dealer), so a dealer sees its ancestors' surveys too.
`TokenRepository` is the unscoped door the public survey page comes through: it finds (or
claims) exactly one invitation by its secret token, and that invitation's response.
"""

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (BindParameter, ColumnElement, Insert, Integer, Select, Table, and_, bindparam, exists, func, insert,
                        literal_column, or_, select, text, union_all, update)
from sqlalchemy.dialects import postgresql, sqlite

from services.survey.definition import Definition
from services.survey.models import (TABLES, CustomerConsent, IntegrityRules, Invitation, Survey, SurveyResponse,
                                   SurveyVersion)
from services.survey.pinned import PinnedVersion, PinnedVersions
from shared.consumer import insert_many
from shared.contracts import customer as customer_contract
from shared.contracts.customer import SurveyConsentRecord
from shared.db import CoreStatements, utcnow
from shared.events import CloudEvent
from shared.org_path import OrgPath
from shared.outbox import outbox_row, record_event
from shared.pagination import PageParams, keyset_page, list_page
from shared.scope import ScopedRepository, visible_to


@dataclass(frozen=True)
class ResponseFilter:
    survey_id: uuid.UUID | None = None
    dealer_code: str | None = None
    customer_id: uuid.UUID | None = None
    kind: str | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class InvitationFilter:
    survey_id: uuid.UUID | None = None
    dealer_code: str | None = None
    customer_id: uuid.UUID | None = None
    status: str | None = None
    updated_since: datetime | None = None


class SurveyRepository(ScopedRepository):
    outbox = TABLES.outbox

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    async def publish(self, *events: CloudEvent) -> None:
        """Record events in the outbox, in this transaction (as ScopedRepository.publish)."""
        for event in events:
            await record_event(self.session, TABLES.outbox, event)

    async def _first(self, statement: Select[Any]) -> Any:
        return (await self.session.scalars(statement.limit(1))).first()

    # --- surveys --------------------------------------------------------------------------------

    def readable(self, model: Any) -> ColumnElement[bool]:
        """A survey (and its versions) owned above the caller serves it too: read, never
        written (row-level security holds writes to the subtree)."""
        if model is Survey or model is SurveyVersion or model is IntegrityRules:
            return or_(visible_to(model, self.principal), model.org_path.in_(self.principal.path.lineage))
        return super().readable(model)

    async def surveys(self, kind: str | None, page: PageParams,
                      updated_since: datetime | None = None) -> tuple[list[Survey], str | None]:
        statement = self.select(Survey)
        if kind:
            statement = statement.where(Survey.kind == kind)
        return await list_page(self.session, statement, Survey, page, updated_since)

    async def survey_with_code(self, org_path: str, code: str) -> Survey | None:
        return await self._first(self.select(Survey).where(Survey.org_path == org_path, Survey.code == code))

    async def version(self, survey_id: uuid.UUID, number: int) -> SurveyVersion | None:
        return await self._first(self.select(SurveyVersion).where(
            SurveyVersion.survey_id == survey_id, SurveyVersion.number == number))

    async def nearest_published(self, dealer_path: str, *, kind: str, template: str) -> Survey | None:
        """The published survey from `template` owned nearest above the dealer (its own first)."""
        return await self._first(
            self.select(Survey).where(Survey.org_path.in_(OrgPath(dealer_path).lineage), Survey.kind == kind,
                                      Survey.template == template, Survey.published_version.is_not(None))
            .order_by(func.length(Survey.org_path).desc(), Survey.created_at))

    # --- consent --------------------------------------------------------------------------------

    async def consent(self, customer_id: uuid.UUID) -> CustomerConsent | None:
        return await self._first(self.select(CustomerConsent).where(CustomerConsent.customer_id == customer_id))

    async def customer_of(self, customer_id: uuid.UUID, dealer_code: str) -> CustomerConsent | None:
        """The customer as a body names it: in the caller's subtree AND the named dealer's, else None.

        One query for every way a reference can be wrong (unknown, outside the subtree, another
        dealer's), so the answer and its timing cannot tell them apart.
        """
        return await self._first(self.select(CustomerConsent).where(
            CustomerConsent.customer_id == customer_id, CustomerConsent.dealer_code == dealer_code))

    async def apply_consents(self, changes: list[customer_contract.CustomerChanged]) -> None:
        """The consent records of a batch of customer events, one each (at most one per customer),
        in one statement: a new customer gets a record, a known one its consent unless it is erased
        or the record reports a newer customer version. The consumers' system principal writes
        whatever dealer the events name (each payload carries its org path)."""
        if not changes:
            return
        table = CustomerConsent.__table__
        statement, parameters = insert_many(self.session, table, {
            "customer_id": [data.customer_id for data in changes], "dealer_code": [data.dealer_code for data in changes],
            "org_path": [data.org_path for data in changes], "survey": [data.consent.survey for data in changes],
            "erased": [False] * len(changes), "updated_at": [utcnow()] * len(changes),
            "customer_version": [data.version for data in changes]})
        stored, incoming = table.c.customer_version, statement.excluded.customer_version
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.customer_id],
            where=table.c.erased.is_(False) & (stored.is_(None) | incoming.is_(None) | (incoming >= stored)),
            set_={"survey": statement.excluded.survey, "updated_at": statement.excluded.updated_at,
                  "customer_version": func.coalesce(incoming, stored)})
        await self.session.execute(statement, parameters)

    async def remember_consent(self, record: SurveyConsentRecord) -> CustomerConsent:
        """Keep the customer service's answer as the record `customer.created` would make.

        The record is the caller's own (the customer service answered under its scope); the
        event, when it arrives, finds the row and updates it like any later change.
        """
        # The event may be applied at this very moment (create, then invite, races the relay):
        # whichever insert comes second does nothing, and both end with the one row.
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        await self.session.execute(dialect.insert(CustomerConsent).values(
            customer_id=record.customer_id, dealer_code=record.dealer_code, org_path=record.org_path,
            survey=record.survey, erased=record.erased, updated_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["customer_id"]))
        consent = await self.session.get(CustomerConsent, record.customer_id, populate_existing=True)
        assert consent is not None
        return consent

    async def customer_dealers(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Customer id -> dealer code, for the customers of these ids the caller's subtree holds."""
        if not customer_ids:
            return {}
        rows = await self.session.execute(self.select(CustomerConsent, CustomerConsent.customer_id,
                                                      CustomerConsent.dealer_code)
                                          .where(CustomerConsent.customer_id.in_(customer_ids)))
        return {customer_id: dealer_code for customer_id, dealer_code in rows}

    # --- invitations ----------------------------------------------------------------------------

    async def invitations(self, where: InvitationFilter, page: PageParams) -> tuple[list[Invitation], str | None]:
        statement = self.select(Invitation)
        for column, value in ((Invitation.survey_id, where.survey_id), (Invitation.dealer_code, where.dealer_code),
                              (Invitation.customer_id, where.customer_id), (Invitation.status, where.status)):
            if value is not None:
                statement = statement.where(column == value)
        return await list_page(self.session, statement, Invitation, page, where.updated_since)

    async def claim_customer(self, customer_id: uuid.UUID, *, wait: bool = False) -> bool:
        """Whether this transaction may decide an invitation of the customer now. Survey fatigue
        reads the invitations sent, and another replica may be sending the customer one, not yet
        committed (its pass holds the customer's other due invitation, claimed with SKIP LOCKED, or
        a request invites them): both would find none sent and both send. On PostgreSQL, a
        transaction-scoped advisory lock on the customer. The job tries it (a pass holds several
        customers' locks, so waiting could deadlock two passes) and leaves the invitation due when
        it is taken, for a later pass that sees the other's commit; a request, which holds this one
        lock only, waits for it (`wait`), then reads what the other committed. SQLite: one process."""
        if self.session.bind.dialect.name != "postgresql":
            return True
        key = {"key": f"csloop.survey_customer.{customer_id}"}
        if wait:
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), key)
            return True
        return bool(await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), key))

    async def last_invited(self, customer_id: uuid.UUID, since: datetime) -> datetime | None:
        """Survey fatigue counts every invitation sent to the customer, whoever sent it."""
        return await self.session.scalar(select(func.max(Invitation.sent_at)).where(
            Invitation.customer_id == customer_id, Invitation.sent_at >= since))

    async def survey_owners(self, survey_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Survey id -> its owner's org path (surveys owned above the caller included), for
        deciding whether the caller may see an invitation's link."""
        if not survey_ids:
            return {}
        rows = await self.session.execute(self.select(Survey, Survey.id, Survey.org_path)
                                          .where(Survey.id.in_(survey_ids)))
        return {survey_id: org_path for survey_id, org_path in rows}

    async def survey_codes(self, survey_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Survey id -> its code (surveys owned above the caller included), for the events."""
        if not survey_ids:
            return {}
        rows = await self.session.execute(self.select(Survey, Survey.id, Survey.code).where(Survey.id.in_(survey_ids)))
        return {survey_id: code for survey_id, code in rows}

    async def invitation_from(self, source_key: str) -> Invitation | None:
        return await self._first(self.select(Invitation).where(Invitation.source_key == source_key))

    async def _claim(self, statement: Select[Any]) -> list[Invitation]:
        if self.session.bind.dialect.name == "postgresql":
            # Replicas run the same job; each invitation goes to one of them.
            statement = statement.with_for_update(skip_locked=True)
        return list((await self.session.scalars(statement)).all())

    # The statuses in the statements' text, not bound: what lets every plan, generic ones
    # included, use the partial index of that status (models.Invitation).
    async def due_invitations(self, now: datetime, limit: int) -> list[Invitation]:
        return await self._claim(self.select(Invitation).where(
            Invitation.status == literal_column("'scheduled'"), Invitation.due_at <= now)
            .order_by(Invitation.due_at).limit(limit))

    async def reminders_due(self, sent_before: datetime, now: datetime, limit: int) -> list[Invitation]:
        return await self._claim(self.select(Invitation).where(
            Invitation.status == literal_column("'sent'"), Invitation.reminded_at.is_(None), Invitation.sent_at <= sent_before,
            Invitation.expires_at > now).order_by(Invitation.sent_at).limit(limit))

    # --- responses ------------------------------------------------------------------------------

    def _responses(self, where: ResponseFilter) -> Select[Any]:
        statement = self.select(SurveyResponse)
        for column, value in ((SurveyResponse.survey_id, where.survey_id),
                              (SurveyResponse.dealer_code, where.dealer_code),
                              (SurveyResponse.customer_id, where.customer_id), (SurveyResponse.kind, where.kind)):
            if value is not None:
                statement = statement.where(column == value)
        if where.submitted_from is not None:
            statement = statement.where(SurveyResponse.created_at >= where.submitted_from)
        if where.submitted_to is not None:
            statement = statement.where(SurveyResponse.created_at < where.submitted_to)
        return statement

    async def response(self, response_id: uuid.UUID) -> SurveyResponse | None:
        return await self._first(self.select(SurveyResponse).where(SurveyResponse.id == response_id))

    async def responses(self, where: ResponseFilter, page: PageParams) -> tuple[list[SurveyResponse], str | None]:
        return await list_page(self.session, self._responses(where), SurveyResponse, page, where.updated_since)

    async def all_responses(self, where: ResponseFilter, batch: int) -> AsyncIterator[SurveyResponse]:
        """Every matching response, oldest first, read a page at a time (for exports)."""
        page = PageParams(limit=batch)
        while True:
            rows, cursor = await self.responses(where, page)
            for row in rows:
                yield row
            if cursor is None:
                return
            page = PageParams(limit=batch, cursor=cursor)

    async def imported_ids(self, survey_id: uuid.UUID, external_ids: list[str]) -> set[str]:
        """Which of these third-party ids this survey already holds (imports are idempotent by them)."""
        if not external_ids:
            return set()
        found = await self.session.scalars(select(SurveyResponse.external_id).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.external_id.in_(external_ids)))
        return {external_id for external_id in found if external_id is not None}

    async def add_all(self, rows: list[Any]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    # --- survey integrity -----------------------------------------------------------------------

    async def rules_of(self, org_path: str) -> IntegrityRules | None:
        """The rules an organisation set itself (in the caller's subtree), or None."""
        return await self._first(self.select(IntegrityRules).where(IntegrityRules.org_path == org_path))

    async def nearest_rules(self, org_path: str) -> IntegrityRules | None:
        """The rules in force at `org_path`: those of the nearest organisation at or above it that set any."""
        return await self._first(self.select(IntegrityRules).where(
            IntegrityRules.org_path.in_([str(path) for path in OrgPath(org_path).lineage]))
            .order_by(func.length(IntegrityRules.org_path).desc()))

    async def awaiting_members(self, response: Any, flags: list[str], device_since: datetime) -> list[SurveyResponse]:
        """The dealer's other responses in `response`'s groups for `flags` (its device since
        `device_since`, its free text) that the group's flag has not reached yet, locked: a
        concurrent pass for the same group waits, then finds them flagged and leaves them. In id
        order, so two passes lock alike."""
        arms = []
        if "shared_device" in flags and response.device_hash is not None:
            arms.append(and_(SurveyResponse.device_hash == response.device_hash,
                             SurveyResponse.created_at >= device_since, _awaiting("shared_device")))
        if "duplicate_text" in flags and response.text_hash is not None:
            arms.append(and_(SurveyResponse.text_hash == response.text_hash, _awaiting("duplicate_text")))
        if not arms:
            return []
        return list((await self.session.scalars(self.select(SurveyResponse).where(
            SurveyResponse.dealer_code == response.dealer_code, SurveyResponse.id != response.id, or_(*arms))
            .order_by(SurveyResponse.id).with_for_update())).all())

    async def claim_spike_pass(self) -> bool:
        """Whether this transaction may run the daily dealer_spike pass: on PostgreSQL, a
        transaction-scoped advisory lock that another replica's pass holds until it commits
        (SQLite: one process). A replica that finds it taken leaves the day's pass to the other."""
        if self.session.bind.dialect.name != "postgresql":
            return True
        return bool(await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext('csloop.survey_spikes'))")))

    async def integrity_rows(self, org_path: str, start: datetime, end: datetime) -> list[Any]:
        """(dealer_code, integrity_status, integrity_flags) of the responses in `org_path`'s subtree
        submitted in [start, end)."""
        rows = await self.session.execute(self.select(
            SurveyResponse, SurveyResponse.dealer_code, SurveyResponse.integrity_status, SurveyResponse.integrity_flags)
            .where(SurveyResponse.org_path.startswith(org_path, autoescape=True),
                   SurveyResponse.created_at >= start, SurveyResponse.created_at < end))
        return list(rows.all())

    async def csi_scores(self, start: datetime, end: datetime) -> list[Any]:
        """(dealer_code, org_path, created_at, score_index) of the scored CSI responses submitted in
        [start, end) in the caller's subtree, not reviewed invalid: what the spike rule weighs."""
        rows = await self.session.execute(self.select(
            SurveyResponse, SurveyResponse.dealer_code, SurveyResponse.org_path, SurveyResponse.created_at,
            SurveyResponse.score_index).where(
            SurveyResponse.kind == "csi", SurveyResponse.score_index.is_not(None),
            SurveyResponse.integrity_status != "invalid", SurveyResponse.created_at >= start,
            SurveyResponse.created_at < end))
        return list(rows.all())

    async def spike_members(self, dealer_code: str, start: datetime, end: datetime) -> list[SurveyResponse]:
        """The dealer's CSI responses of [start, end) that dealer_spike has not reached yet, locked
        in id order (a group flag raised on one of them meanwhile waits, and is not overwritten)."""
        return list((await self.session.scalars(self.select(SurveyResponse).where(
            SurveyResponse.dealer_code == dealer_code, SurveyResponse.kind == "csi",
            SurveyResponse.created_at >= start, SurveyResponse.created_at < end, _awaiting("dealer_spike"))
            .order_by(SurveyResponse.id).with_for_update())).all())

    async def flagged_responses(self, org_path: str, start: datetime, end: datetime) -> list[SurveyResponse]:
        """The flagged (not yet reviewed) responses of `org_path`'s subtree submitted in [start, end)."""
        return list((await self.session.scalars(self.select(SurveyResponse).where(
            SurveyResponse.org_path.startswith(org_path, autoescape=True), SurveyResponse.integrity_status == "flagged",
            SurveyResponse.created_at >= start, SurveyResponse.created_at < end)
            .order_by(SurveyResponse.created_at, SurveyResponse.id))).all())

    # --- erasure --------------------------------------------------------------------------------

    async def erase_customer(self, customer_id: uuid.UUID) -> list[SurveyResponse]:
        """Unlink the customer everywhere; returns their responses so free text can be blanked."""
        await self.session.execute(update(Invitation).where(
            Invitation.customer_id == customer_id, Invitation.status == "scheduled",
        ).values(status="cancelled", status_reason="customer erased"))
        await self.session.execute(update(Invitation).where(Invitation.customer_id == customer_id)
                                   .values(customer_id=None, vin=None))
        responses = list((await self.session.scalars(
            select(SurveyResponse).where(SurveyResponse.customer_id == customer_id))).all())
        for response in responses:
            response.customer_id = None
            response.vin = None
        return responses


    # --- what a KPI rebuild replays (a system principal's repository sees every dealer) ------

    async def responses_page(self, params: PageParams) -> tuple[list[SurveyResponse], str | None]:
        return await keyset_page(self.session, self.select(SurveyResponse), SurveyResponse, params)

    async def sent_invitations_page(self, params: PageParams) -> tuple[list[Invitation], str | None]:
        statement = self.select(Invitation).where(Invitation.sent_at.is_not(None))
        return await keyset_page(self.session, statement, Invitation, params)


@dataclass(frozen=True)
class History:
    """What TokenRepository.add_response read of a response's device and text groups, and whether
    it recorded the response's events."""
    device_customers: int
    same_text: int
    device_awaiting: bool
    text_awaiting: bool
    published: bool


class TokenRepository:
    """The public survey page's reads and its one write, by invitation token.

    Reads across the tree on purpose: the page has no principal, the token is the credential,
    and it names one invitation (and so its survey version and response) wherever it lies.
    Core statements only, run by `statements`: a submission's own transaction straight on the
    driver on PostgreSQL (`shared.db.core_transaction`), the page's read in the request's
    session. Rows are read by attribute. The pinned version comes from the process's cache
    (pinned.py).
    """

    def __init__(self, statements: CoreStatements, versions: PinnedVersions) -> None:
        self.statements = statements
        self.versions = versions
        self.events_recorded = False

    async def invitation(self, token: str) -> Any:
        return await self.statements.fetch_one(_BY_TOKEN, {"token": token})

    async def claim(self, token: str, now: datetime) -> Any:
        """Mark the token's invitation answered if it is open (sent, not expired), in one statement;
        its columns and the integrity rules in force at its dealer (`integrity_rules`, None: the
        defaults), or None when it is not open. A second claim of the same token waits for the
        first's transaction and then finds the invitation answered: one response per invitation."""
        return await self.statements.fetch_one(_CLAIM, {"claim_token": token, "claimed_at": now})

    async def pinned_version(self, survey_id: uuid.UUID, number: int) -> PinnedVersion:
        """The published version an invitation pins, read once per process (it never changes)."""
        found = self.versions.get(survey_id, number)
        if found is None:
            row = await self.statements.fetch_one(_PINNED, {"survey_id": survey_id, "number": number})
            found = PinnedVersion(Definition.model_validate(row.definition), row.code)
            self.versions.put(survey_id, number, found)
        return found

    async def response_to(self, invitation_id: uuid.UUID) -> Any:
        return await self.statements.fetch_one(_RESPONSE_TO, {"invitation_id": invitation_id})

    async def add_response(self, values: dict[str, Any], device_since: datetime, events: list[CloudEvent],
                           device_flag_from: int, text_flag_from: int) -> History:
        """Insert the response; returns what the history rules ask of the same dealer's other responses,
        read by the INSERT itself (no round trip of their own): `device_customers`, other customers
        answered from its device since `device_since`, and `same_text`, responses with its free text;
        `device_awaiting` and `text_awaiting`, whether either group has members its flag has not reached.

        On PostgreSQL the same statement records `events` in the outbox (`published`), unless the
        counts reach a history rule's threshold (`device_flag_from` customers on the device, its
        own included; `text_flag_from` others with its text): the events were built before the
        history was known, and a flagged response's must say so. Otherwise the caller publishes."""
        params = {**values, "device_since": device_since}
        if not self.statements.writes_in_with:
            found = await self.statements.fetch_one(_INSERT_RESPONSE, params)
            return History(found.device_customers, found.same_text, found.device_awaiting, found.text_awaiting, False)
        found = await self.statements.fetch_one(_insert_response_publishing(len(events)), {
            **params, **_event_params(events), "device_flag_from": device_flag_from, "text_flag_from": text_flag_from})
        self.events_recorded = self.events_recorded or found.published > 0
        return History(found.device_customers, found.same_text, found.device_awaiting, found.text_awaiting,
                       found.published > 0)

    async def set_integrity(self, response_id: uuid.UUID, status: str, flags: list[str], now: datetime) -> None:
        await self.statements.execute(_SET_INTEGRITY, {"flagged_id": response_id, "flagged_status": status,
                                                       "flagged_flags": flags, "flagged_at": now})

    async def mark_opened(self, invitation_id: uuid.UUID, now: datetime) -> None:
        """Remember the first time the link was read (a later read keeps the first)."""
        await self.statements.execute(_MARK_OPENED, {"opened_id": invitation_id, "opened_at": now})

    async def publish(self, *events: CloudEvent) -> None:
        """Record events in the outbox, in this transaction, in one INSERT (as ScopedRepository.publish)."""
        await self.statements.execute(_insert_events(len(events)), _event_params(events))
        self.events_recorded = True


def _event_params(events: Sequence[CloudEvent]) -> dict[str, Any]:
    """The outbox rows of `events` as the parameters of `_insert_events` (and of `_insert_response_publishing`)."""
    return {f"{name}_{number}": value for number, event in enumerate(events) for name, value in outbox_row(event).items()}


_INVITATIONS: Table = Invitation.__table__  # type: ignore[assignment]
_RESPONSES: Table = SurveyResponse.__table__  # type: ignore[assignment]
_BY_TOKEN = select(_INVITATIONS).where(_INVITATIONS.c.token == bindparam("token")).limit(1)
_RULES: Table = IntegrityRules.__table__  # type: ignore[assignment]
# The nearest organisation's rules: the longest org path the dealer's path starts with (a path
# ends with "/", so a prefix is an ancestor, never a sibling whose code starts alike). Read by the
# claim itself, so the rules cost a submission no round trip of their own.
_RULES_IN_FORCE = (select(_RULES.c.flags).where(
    func.substr(_INVITATIONS.c.org_path, 1, func.length(_RULES.c.org_path)) == _RULES.c.org_path)
    .order_by(func.length(_RULES.c.org_path).desc()).limit(1).scalar_subquery())
_CLAIM = (
    update(_INVITATIONS)
    .where(_INVITATIONS.c.token == bindparam("claim_token"), _INVITATIONS.c.status == "sent",
           _INVITATIONS.c.expires_at > bindparam("claimed_at"))
    .values(status="responded", responded_at=bindparam("claimed_at"), updated_at=bindparam("claimed_at"))
    .returning(*(_INVITATIONS.c[name] for name in (
        "id", "survey_id", "survey_version", "kind", "customer_id", "dealer_code", "org_path", "vin", "ro_number",
        "advisor", "technician", "sales_consultant", "first_opened_at", "vehicle_model", "symptom_codes")),
        _RULES_IN_FORCE.label("integrity_rules"))
)
_MARK_OPENED = (update(_INVITATIONS)
                .where(_INVITATIONS.c.id == bindparam("opened_id"), _INVITATIONS.c.first_opened_at.is_(None))
                .values(first_opened_at=bindparam("opened_at"), updated_at=bindparam("opened_at")))
_PINNED = (select(SurveyVersion.definition, Survey.code).join(Survey, Survey.id == SurveyVersion.survey_id)
           .where(SurveyVersion.survey_id == bindparam("survey_id"), SurveyVersion.number == bindparam("number")))
_RESPONSE_TO = select(_RESPONSES).where(_RESPONSES.c.invitation_id == bindparam("invitation_id")).limit(1)
_OWN = {name: bindparam(name, type_=_RESPONSES.c[name].type) for name in ("id", "dealer_code", "customer_id",
                                                                            "device_hash", "text_hash")}


def _awaiting(flag: str) -> ColumnElement[bool]:
    """A response no review decided that does not have `flag` yet: one a group or spike flag may
    still reach. The flags are a JSON array of plain names, so the name in quotes is in its text
    exactly when it is in the array (no flag's name matches another's pattern, `_` included). Its
    constants are the statement's own text: the driver statements bind every other literal."""
    return text(f"integrity_status IN ('clean', 'flagged') AND CAST(integrity_flags AS TEXT) NOT LIKE '%\"{flag}\"%'")


# The history rules read a group's latest members only, newest first through the indexes by dealer,
# device (or text) and time: a bounded read however large the group has grown (one showroom tablet
# answering thousands of surveys). RECENT is above every rule's threshold (at most 100 customers,
# 100 other texts): the counts decide as the whole group's would, unless a device's latest 200
# responses in the rule's days came from fewer than 100 customers while older ones add more.
# In RETURNING, a subquery sees the table as it was before the INSERT: the members are the others.
RECENT = 200
_DEVICE_RECENT = (select(_RESPONSES.c.customer_id, _RESPONSES.c.integrity_status, _RESPONSES.c.integrity_flags).where(
    _RESPONSES.c.dealer_code == _OWN["dealer_code"], _RESPONSES.c.device_hash == _OWN["device_hash"],
    _RESPONSES.c.created_at >= bindparam("device_since", type_=_RESPONSES.c.created_at.type),
    _RESPONSES.c.id != _OWN["id"]).order_by(_RESPONSES.c.created_at.desc()).limit(literal_column(str(RECENT)))
    .subquery("device_recent"))
_TEXT_RECENT = (select(_RESPONSES.c.integrity_status, _RESPONSES.c.integrity_flags).where(
    _RESPONSES.c.dealer_code == _OWN["dealer_code"], _RESPONSES.c.text_hash == _OWN["text_hash"],
    _RESPONSES.c.id != _OWN["id"]).order_by(_RESPONSES.c.created_at.desc()).limit(literal_column(str(RECENT)))
    .subquery("text_recent"))
_DEVICE_CUSTOMERS = select(func.count(func.distinct(_DEVICE_RECENT.c.customer_id))).where(
    _DEVICE_RECENT.c.customer_id.is_distinct_from(_OWN["customer_id"])).scalar_subquery()
_SAME_TEXT = select(func.count()).select_from(_TEXT_RECENT).scalar_subquery()
# Whether the group has members its flag has not reached: true when this response completes the
# group (or the flag was switched on since), false when it joins a group flagged before.
_DEVICE_AWAITING = exists().select_from(_DEVICE_RECENT).where(_awaiting("shared_device"))
_TEXT_AWAITING = exists().select_from(_TEXT_RECENT).where(_awaiting("duplicate_text"))
# Every column a submission writes (all but the imports' external_id), each the caller's parameter.
_INSERT_RESPONSE = (insert(_RESPONSES).values({column.name: _OWN.get(column.name, bindparam(column.name, type_=column.type))
                                               for column in _RESPONSES.columns if column.name != "external_id"})
                    .returning(_DEVICE_CUSTOMERS.label("device_customers"), _SAME_TEXT.label("same_text"),
                               _DEVICE_AWAITING.label("device_awaiting"), _TEXT_AWAITING.label("text_awaiting")))
_SET_INTEGRITY = (update(_RESPONSES).where(_RESPONSES.c.id == bindparam("flagged_id"))
                  .values(integrity_status=bindparam("flagged_status"), updated_at=bindparam("flagged_at"),
                          integrity_flags=bindparam("flagged_flags", type_=_RESPONSES.c.integrity_flags.type)))
_EVENT_COLUMNS = ("event_id", "type", "payload", "created_at", "next_attempt_at", "attempts")  # shared.outbox.outbox_row


def _event_values(number: int) -> list[BindParameter[Any]]:
    """The parameters of the `number`th event's outbox row (`_event_params`), typed: a row after
    the first would otherwise bind untyped."""
    outbox = TABLES.outbox.c
    return [bindparam(f"{name}_{number}", type_=outbox[name].type) for name in _EVENT_COLUMNS]


@functools.cache
def _insert_events(count: int) -> Insert:
    """One INSERT of `count` outbox rows (a submission's event, and its alert's when a rule fired),
    built once per count."""
    return insert(TABLES.outbox).values([dict(zip(_EVENT_COLUMNS, _event_values(number))) for number in range(count)])


@functools.cache
def _insert_response_publishing(count: int) -> Select[Any]:
    """`_INSERT_RESPONSE` and the INSERT of its `count` outbox rows in one statement (PostgreSQL: an
    INSERT in a WITH), the rows left out when the history counts reach a rule's threshold.
    `published`: how many went in (a WITH's INSERT runs to completion whether read or not)."""
    inserted = _INSERT_RESPONSE.cte("inserted")
    unflagged = and_(inserted.c.device_customers + 1 < bindparam("device_flag_from", type_=Integer()),
                     inserted.c.same_text < bindparam("text_flag_from", type_=Integer()))
    rows = [select(*_event_values(number)).select_from(inserted).where(unflagged) for number in range(count)]
    published = (insert(TABLES.outbox).from_select(_EVENT_COLUMNS, rows[0] if count == 1 else union_all(*rows))
                 .returning(TABLES.outbox.c.seq).cte("published"))
    return select(inserted.c.device_customers, inserted.c.same_text, inserted.c.device_awaiting,
                  inserted.c.text_awaiting, select(func.count()).select_from(published).scalar_subquery().label("published"))
