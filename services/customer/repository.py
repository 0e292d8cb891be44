"""Every SQL statement of the customer service's API, each filtered by the caller's org scope.

A `CustomerRepository` is built for one principal; rows outside its subtree do not exist
for it (the API answers 404, never 403). Bulk import SQL lives in `repository_bulk.py`.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, extract, func, or_, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSessionTransaction

from services.customer.models import (
    TABLES, Appointment, ComplaintSummary, Customer, CustomerStanding, Delivery, DeskSettings, FollowUp, FollowUpAttempt,
    Interaction, Prospect, ServiceVisit, Staff, Vehicle,
)
from services.customer.privacy import PiiView
from services.customer.repository_bulk import ImportWriter, writer_for
from shared import rls
from shared.consumer import insert_many
from shared.db import fetch_one
from shared.events import CloudEvent
from shared.orgs import OrgInfo
from shared.outbox import note_events_recorded, outbox_row
from shared.pagination import PageParams, keyset_page, list_page
from shared.problems import NotFound
from shared.scope import ScopedRepository, like_prefix

# Events per outbox statement (publish_all): arrays of 10,000 payloads keep one statement's parameters modest.
EVENT_CHUNK = 10_000


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None
    phone: str | None = None
    vin: str | None = None
    dealer_code: str | None = None
    updated_since: datetime | None = None
    lifecycle: str | None = None
    segment: str | None = None


@dataclass(frozen=True)
class FollowUpFilter:
    dealer_code: str | None = None
    status: str | None = None
    kind: str | None = None
    due_before: datetime | None = None
    customer_id: uuid.UUID | None = None
    assignee: str | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class InteractionFilter:
    customer_id: uuid.UUID | None = None
    prospect_id: uuid.UUID | None = None
    dealer_code: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class AppointmentFilter:
    dealer_code: str | None = None
    customer_id: uuid.UUID | None = None
    status: str | None = None
    slot_from: datetime | None = None
    slot_to: datetime | None = None
    updated_since: datetime | None = None


# The customer and the figures of their standing (no column names shared), for the hot GET.
_CUSTOMER_WITH_STANDING = (
    select(Customer.__table__, CustomerStanding.lifecycle, CustomerStanding.recency_days, CustomerStanding.frequency_24m,
           CustomerStanding.monetary_24m_minor, CustomerStanding.rfm, CustomerStanding.segment)
    .outerjoin(CustomerStanding.__table__, CustomerStanding.customer_id == Customer.id)
    .where(Customer.id == bindparam("ident"), Customer.org_path.like(bindparam("scope"), escape="/")))

# The most records one screen pop shows of each kind: a phone is one customer per dealer, so
# only a caller above many dealers comes near it.
LOOKUP_LIMIT = 20


def _matching(statement: Select[Any], *equal: tuple[Any, Any]) -> Select[Any]:
    """A list's equality filters: each (column, value) whose value was given (None: not filtered)."""
    for column, value in equal:
        if value is not None:
            statement = statement.where(column == value)
    return statement


def _within(statement: Select[Any], column: Any, start: datetime | None, end: datetime | None) -> Select[Any]:
    """A list's time window, half open: [start, end), either end optional."""
    if start is not None:
        statement = statement.where(column >= start)
    if end is not None:
        statement = statement.where(column < end)
    return statement


class CustomerRepository(ScopedRepository):
    outbox = TABLES.outbox

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    def savepoint(self) -> AsyncSessionTransaction:
        """A nested transaction: what one import row wrote is undone when the row fails."""
        return self.session.begin_nested()

    async def _one(self, statement: Select[Any]) -> Any:
        return (await self.session.scalars(statement.limit(1))).first()

    # --- customers -------------------------------------------------------------------------

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        return await self._one(self.select(Customer).where(Customer.id == customer_id))

    async def customer_with_phone(self, dealer_code: str, phone: str) -> Customer | None:
        return await self._one(self.select(Customer).where(Customer.dealer_code == dealer_code, Customer.phone == phone))

    async def customer_with_external_id(self, dealer_code: str, external_id: str) -> Customer | None:
        return await self._one(self.select(Customer).where(
            Customer.dealer_code == dealer_code, Customer.external_id == external_id))

    async def customers(self, where: CustomerFilter, page: PageParams) -> tuple[list[Customer], str | None]:
        statement = self.select(Customer)
        if where.dealer_code:
            statement = statement.where(Customer.dealer_code == where.dealer_code)
        if where.phone:
            statement = statement.where(Customer.phone == where.phone)
        if where.q:
            pattern = "%" + where.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            statement = statement.where(or_(
                Customer.name.ilike(pattern, escape="\\"), Customer.external_id.ilike(pattern, escape="\\"),
                Customer.email.ilike(pattern, escape="\\"), Customer.city.ilike(pattern, escape="\\"),
            ))
        if where.lifecycle or where.segment:
            # No standing stored yet: no visit seen, a prospect without a segment.
            statement = statement.outerjoin(CustomerStanding, CustomerStanding.customer_id == Customer.id)
            statement = _matching(statement, (func.coalesce(CustomerStanding.lifecycle, "prospect"), where.lifecycle),
                                  (CustomerStanding.segment, where.segment))
        if where.phone or where.q or where.lifecycle or where.segment:
            statement = statement.where(self._findable_by_contact())
        if where.vin:
            owners = self.select(Vehicle, Vehicle.owner_customer_id).where(Vehicle.vin == where.vin)
            statement = statement.where(Customer.id.in_(owners))
        return await list_page(self.session, statement, Customer, page, where.updated_since)

    def _findable_by_contact(self) -> ColumnElement[bool]:
        """Above the dealer, a search by phone, text, lifecycle or segment never matches a customer
        who does not share with the manufacturer (domain.shows_person, as SQL): finding them would tell
        who they are. Rows of the caller's own org (a dealer's own customers) always match."""
        if "internal" in self.principal.scopes:
            return true()
        return or_(Customer.consent_share_with_manufacturer.is_(True), Customer.org_path == self.principal.org_path)

    async def read_customer(self, customer_id: uuid.UUID) -> Any:
        """The hot read of one customer with its standing's figures, one statement (see read_visible)."""
        row = await fetch_one(self.session, _CUSTOMER_WITH_STANDING,
                              {"ident": customer_id, "scope": like_prefix(self.principal.path.prefix)})
        if row is None:
            raise NotFound(f"No customer {customer_id}")
        return row

    async def standings_of(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, CustomerStanding]:
        """The stored standing of these customers (one query for a page), by customer id."""
        if not customer_ids:
            return {}
        statement = self.select(CustomerStanding).where(CustomerStanding.customer_id.in_(customer_ids))
        return {row.customer_id: row for row in (await self.session.scalars(statement)).all()}

    async def update_customer(self, customer: Customer, values: dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(customer, name, value)
        customer.version += 1
        await self.session.flush()

    def import_writer(self, dealer: OrgInfo, view: PiiView) -> ImportWriter:
        """The set-based writer of a customer import into `dealer`, which the caller reaches
        (checked before: dealer_for). Its statements are keyed on that dealer's code."""
        return writer_for(self.session, dealer, view)

    async def birthday_customers(self, month_days: list[tuple[int, int]]) -> list[Customer]:
        month, day = extract("month", Customer.birth_date), extract("day", Customer.birth_date)
        matches = or_(*[(month == m) & (day == d) for m, d in month_days])
        # A greeting is marketing contact (DOMAIN.md care): only with the customer's consent.
        statement = self.select(Customer).where(Customer.erased_at.is_(None), Customer.birth_date.is_not(None), matches,
                                                Customer.consent_marketing.is_(True))
        return list((await self.session.scalars(statement)).all())

    # --- vehicles, deliveries, visits ---------------------------------------------------------

    async def dealer_vehicle(self, dealer_code: str, vin: str) -> Vehicle | None:
        return await self._one(self.select(Vehicle).where(Vehicle.dealer_code == dealer_code, Vehicle.vin == vin))

    async def vehicles(self, customer_id: uuid.UUID | None, page: PageParams,
                       updated_since: datetime | None = None) -> tuple[list[Vehicle], str | None]:
        statement = self.select(Vehicle)
        if customer_id:
            statement = statement.where(Vehicle.owner_customer_id == customer_id)
        return await list_page(self.session, statement, Vehicle, page, updated_since)

    async def vehicles_of(self, customer_id: uuid.UUID) -> list[Vehicle]:
        return list((await self.session.scalars(self.select(Vehicle).where(Vehicle.owner_customer_id == customer_id))).all())

    async def dealer_delivery(self, dealer_code: str, vin: str) -> Delivery | None:
        """The dealer's latest delivery of the VIN."""
        return await self._one(self.select(Delivery).where(Delivery.dealer_code == dealer_code, Delivery.vin == vin)
                               .order_by(Delivery.delivered_at.desc()))

    async def visit_by_ro(self, dealer_code: str, ro_number: str) -> ServiceVisit | None:
        return await self._one(self.select(ServiceVisit).where(
            ServiceVisit.dealer_code == dealer_code, ServiceVisit.ro_number == ro_number))

    async def visits(self, customer_id: uuid.UUID | None, vin: str | None, page: PageParams,
                     updated_since: datetime | None = None) -> tuple[list[ServiceVisit], str | None]:
        statement = self.select(ServiceVisit)
        if customer_id:
            statement = statement.where(ServiceVisit.customer_id == customer_id)
        if vin:
            statement = statement.where(ServiceVisit.vin == vin)
        return await list_page(self.session, statement, ServiceVisit, page, updated_since)

    # --- staff ------------------------------------------------------------------------------

    async def active_staff(self, dealer_code: str, code: str) -> Staff | None:
        """The dealer's staff member with this code, unless retired (a retired code takes no new work)."""
        return await self._one(self.select(Staff).where(Staff.dealer_code == dealer_code, Staff.code == code,
                                                        Staff.active.is_(True)))

    async def active_staff_codes(self, dealer_code: str, codes: set[str]) -> set[str]:
        """Of these codes, those naming an active staff member of the dealer: one query for a whole
        import batch instead of one per row."""
        if not codes:
            return set()
        statement = self.select(Staff, Staff.code).where(Staff.dealer_code == dealer_code, Staff.code.in_(codes),
                                                         Staff.active.is_(True))
        return set((await self.session.scalars(statement)).all())

    async def active_staff_pairs(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of these (dealer code, staff code) pairs, those naming an active staff member: one query
        for the default assignees of the many dealers a job's page touches."""
        if not pairs:
            return set()
        statement = self.select(Staff, Staff.dealer_code, Staff.code).where(
            tuple_(Staff.dealer_code, Staff.code).in_(sorted(pairs)), Staff.active.is_(True))
        return {(dealer_code, code) for dealer_code, code in (await self.session.execute(statement)).all()}

    async def staff_codes(self, dealer_code: str, codes: set[str]) -> set[str]:
        """Of these codes, those naming a staff member of the dealer, retired ones included."""
        if not codes:
            return set()
        statement = self.select(Staff, Staff.code).where(Staff.dealer_code == dealer_code, Staff.code.in_(codes))
        return set((await self.session.scalars(statement)).all())

    async def staff_with_code(self, dealer_code: str, code: str) -> Staff | None:
        """The dealer's staff member with this code, retired or not (a code is unique in the dealer)."""
        return await self._one(self.select(Staff).where(Staff.dealer_code == dealer_code, Staff.code == code))

    async def staff(self, page: PageParams, updated_since: datetime | None, *, dealer_code: str | None = None,
                    role: str | None = None, active: bool | None = None) -> tuple[list[Staff], str | None]:
        statement = _matching(self.select(Staff), (Staff.dealer_code, dealer_code), (Staff.role, role),
                              (Staff.active, active))
        return await list_page(self.session, statement, Staff, page, updated_since)

    # --- appointments ---------------------------------------------------------------------------

    async def appointments(self, where: AppointmentFilter, page: PageParams) -> tuple[list[Appointment], str | None]:
        statement = _within(_matching(self.select(Appointment), (Appointment.dealer_code, where.dealer_code),
                                      (Appointment.customer_id, where.customer_id), (Appointment.status, where.status)),
                            Appointment.slot_at, where.slot_from, where.slot_to)
        return await list_page(self.session, statement, Appointment, page, where.updated_since)

    async def appointment(self, appointment_id: uuid.UUID) -> Appointment | None:
        return await self._one(self.select(Appointment).where(Appointment.id == appointment_id))

    # --- prospects and follow-ups ----------------------------------------------------------

    async def prospect(self, prospect_id: uuid.UUID) -> Prospect | None:
        return await self._one(self.select(Prospect).where(Prospect.id == prospect_id))

    async def followups(self, where: FollowUpFilter, page: PageParams) -> tuple[list[FollowUp], str | None]:
        """A call list, earliest due first (keyset on due_at, id); with `updated_since`, the delta feed."""
        statement = self.select(FollowUp)
        statement = _within(_matching(statement, (FollowUp.dealer_code, where.dealer_code), (FollowUp.status, where.status),
                                      (FollowUp.kind, where.kind), (FollowUp.customer_id, where.customer_id),
                                      (FollowUp.assignee, where.assignee)),
                            FollowUp.due_at, None, where.due_before)
        if where.updated_since is None:
            return await keyset_page(self.session, statement, FollowUp, page, by="due_at")
        return await list_page(self.session, statement, FollowUp, page, where.updated_since)

    async def followup_for_update(self, followup_id: uuid.UUID) -> FollowUp:
        """The follow-up, locked until the transaction ends: two attempts recorded at once must
        not both find it open (one issue_found, one unreachable, one count)."""
        statement = self.select(FollowUp).where(FollowUp.id == followup_id).with_for_update()
        followup = await self._one(statement)
        if followup is None:
            raise NotFound(f"No follow-up {followup_id}")
        return followup

    async def followup_attempts(self, followup_id: uuid.UUID) -> list[FollowUpAttempt]:
        statement = (self.select(FollowUpAttempt).where(FollowUpAttempt.followup_id == followup_id)
                     .order_by(FollowUpAttempt.attempted_at, FollowUpAttempt.id))
        return list((await self.session.scalars(statement)).all())

    async def desk_settings(self, dealer_code: str) -> DeskSettings | None:
        return await self._one(self.select(DeskSettings).where(DeskSettings.dealer_code == dealer_code))

    async def desk_settings_of(self, dealer_codes: set[str]) -> list[DeskSettings]:
        """The settings rows of these dealers (those that have one), in one query."""
        if not dealer_codes:
            return []
        statement = self.select(DeskSettings).where(DeskSettings.dealer_code.in_(sorted(dealer_codes)))
        return list((await self.session.scalars(statement)).all())

    async def existing_followup_keys(self, keys: list[str]) -> set[str]:
        """Of these dedupe keys, those a follow-up already has (a re-run job skips them in one query)."""
        if not keys:
            return set()
        statement = self.select(FollowUp, FollowUp.dedupe_key).where(FollowUp.dedupe_key.in_(keys))
        return set((await self.session.scalars(statement)).all())

    async def marketing_customers(self, after: uuid.UUID | None, limit: int) -> list[Customer]:
        """Customers who accept marketing (and are not erased), a page in id order after `after`."""
        statement = self.select(Customer).where(Customer.consent_marketing.is_(True), Customer.erased_at.is_(None))
        if after is not None:
            statement = statement.where(Customer.id > after)
        return list((await self.session.scalars(statement.order_by(Customer.id).limit(limit))).all())

    async def open_prospect_followups(self, prospect_id: uuid.UUID) -> list[FollowUp]:
        statement = self.select(FollowUp).where(FollowUp.prospect_id == prospect_id, FollowUp.status == "open")
        return list((await self.session.scalars(statement)).all())

    async def add_followup_once(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert a follow-up unless one with its dedupe key exists; its id when inserted."""
        if not self.principal.sees(values["org_path"]):
            return None
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        values = {"id": uuid.uuid4(), "status": "open", "created_at": values["now"], "updated_at": values["now"]} | values
        values.pop("now")
        statement = (dialect.insert(FollowUp).values(**values)
                     .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(FollowUp.id))
        return await self.session.scalar(statement)

    async def add_followups_once(self, tasks: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
        """add_followup_once for many tasks with the same fields, in one statement (a job's page of
        thousands): the ids of those inserted, by dedupe key."""
        rows = [{"id": uuid.uuid4(), "status": "open", "created_at": task["now"], "updated_at": task["now"]}
                | {name: value for name, value in task.items() if name != "now"}
                for task in tasks if self.principal.sees(task["org_path"])]
        if not rows:
            return {}
        statement, parameters = insert_many(self.session, FollowUp.__table__, {name: [row[name] for row in rows]
                                                                               for name in rows[0]})
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
            FollowUp.__table__.c.dedupe_key, FollowUp.__table__.c.id)
        return {key: ident for key, ident in (await self.session.execute(statement, parameters)).all()}

    async def publish_all(self, events: list[CloudEvent]) -> None:
        """Record many events in the outbox, set-based (a first run of the lifecycle job changes most
        customers): an executemany would insert them one by one, each returning its sequence number."""
        for start in range(0, len(events), EVENT_CHUNK):
            rows = [outbox_row(event) for event in events[start:start + EVENT_CHUNK]]
            statement, parameters = insert_many(self.session, self.outbox, {name: [row[name] for row in rows]
                                                                            for name in rows[0]})
            await self.session.execute(statement, parameters)
            note_events_recorded(self.session)

    async def forget_customer_in_followups(self, customer_id: uuid.UUID, now: datetime) -> list[FollowUp]:
        """Erasure: notes may name the customer; open tasks about them no longer make sense (the
        ones cancelled are returned, so that their cancellation is published)."""
        base = self.update(FollowUp).where(FollowUp.customer_id == customer_id)
        still_open = self.select(FollowUp).where(FollowUp.customer_id == customer_id, FollowUp.status == "open")
        cancelled = list((await self.session.scalars(still_open)).all())
        await self.session.execute(base.values(note=None, updated_at=now))
        theirs = self.select(FollowUp, FollowUp.id).where(FollowUp.customer_id == customer_id)
        await self.session.execute(self.update(FollowUpAttempt).where(FollowUpAttempt.followup_id.in_(theirs))
                                   .values(note=None, updated_at=now))
        await self.session.execute(base.where(FollowUp.id.in_([task.id for task in cancelled]))
                                   .values(status="cancelled", updated_at=now)
                                   .execution_options(synchronize_session="fetch"))
        return cancelled

    async def forget_customer_in_vehicles(self, customer_id: uuid.UUID, now: datetime) -> None:
        statement = self.update(Vehicle).where(Vehicle.owner_customer_id == customer_id)
        await self.session.execute(statement.values(plate=None, updated_at=now))

    # --- interactions and the screen pop ---------------------------------------------------------

    async def interactions(self, where: InteractionFilter, page: PageParams) -> tuple[list[Interaction], str | None]:
        statement = _within(_matching(self.select(Interaction), (Interaction.customer_id, where.customer_id),
                                      (Interaction.prospect_id, where.prospect_id),
                                      (Interaction.dealer_code, where.dealer_code)),
                            Interaction.started_at, where.started_from, where.started_to)
        return await list_page(self.session, statement, Interaction, page, where.updated_since)

    async def sharing_customers(self, customer_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Of these customers, those who share with the manufacturer (how their interactions are masked)."""
        if not customer_ids:
            return set()
        statement = self.select(Customer, Customer.id).where(
            Customer.id.in_(customer_ids), Customer.consent_share_with_manufacturer.is_(True))
        return set((await self.session.scalars(statement)).all())

    async def forget_customer_in_interactions(self, customer_id: uuid.UUID, now: datetime) -> None:
        """Erasure: a summary may name the customer, and the phone is theirs."""
        statement = self.update(Interaction).where(Interaction.customer_id == customer_id)
        await self.session.execute(statement.values(summary=None, phone=None, updated_at=now))

    async def customers_with_phone(self, phone: str) -> list[Customer]:
        """The customers with this (normalised) phone the caller may find by it (_findable_by_contact)."""
        statement = (self.select(Customer).where(Customer.phone == phone, self._findable_by_contact())
                     .order_by(Customer.dealer_code).limit(LOOKUP_LIMIT))
        return list((await self.session.scalars(statement)).all())

    async def prospects_with_phone(self, phone: str) -> list[Prospect]:
        """Prospects give no consent to share: above the dealer a phone never finds one."""
        statement = self.select(Prospect).where(Prospect.phone == phone)
        if "internal" not in self.principal.scopes:
            statement = statement.where(Prospect.org_path == self.principal.org_path)
        return list((await self.session.scalars(statement.order_by(Prospect.created_at).limit(LOOKUP_LIMIT))).all())

    async def open_followups_of(self, column: Any, ids: list[uuid.UUID]) -> list[FollowUp]:
        """Open tasks of these customers (`column` FollowUp.customer_id) or prospects, earliest due first."""
        if not ids:
            return []
        statement = self.select(FollowUp).where(column.in_(ids), FollowUp.status == "open").order_by(FollowUp.due_at)
        return list((await self.session.scalars(statement)).all())

    async def last_visit(self, customer_id: uuid.UUID) -> ServiceVisit | None:
        return await self._one(self.select(ServiceVisit).where(ServiceVisit.customer_id == customer_id)
                               .order_by(func.coalesce(ServiceVisit.opened_at, ServiceVisit.created_at).desc()))

    # --- complaint summaries (the complaint service's cases, kept from its events) ------------

    async def save_complaint_summary(self, values: dict[str, Any]) -> None:
        """Insert or update a case's summary, unless the row holds a later change already: events
        may arrive out of order (a retried delivery, a batch applied one by one), and an older one
        must not undo a newer one. The link to a follow-up is set once, whichever event is first."""
        if not self.principal.sees(values["org_path"]):
            return
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(ComplaintSummary).values(**values)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["complaint_id"],
            set_={key: statement.excluded[key] for key in values if key not in ("complaint_id", "followup_id")},
            where=ComplaintSummary.changed_at <= statement.excluded.changed_at))
        if values.get("followup_id"):
            await self.session.execute(self.update(ComplaintSummary).where(
                ComplaintSummary.complaint_id == values["complaint_id"], ComplaintSummary.followup_id.is_(None))
                .values(followup_id=values["followup_id"]))

    async def link_followup_to_case(self, followup_id: uuid.UUID, dealer_code: str, complaint_id: uuid.UUID,
                                    now: datetime) -> None:
        """The follow-up call names the case it opened; only a call of the case's dealer, and once."""
        await self.session.execute(self.update(FollowUp).where(
            FollowUp.id == followup_id, FollowUp.dealer_code == dealer_code, FollowUp.complaint_id.is_(None))
            .values(complaint_id=complaint_id, updated_at=now))

    async def open_complaints_of(self, customer_ids: list[uuid.UUID]) -> list[ComplaintSummary]:
        """The open cases of these customers (one query for a whole screen pop), oldest first."""
        if not customer_ids:
            return []
        statement = self.select(ComplaintSummary).where(
            ComplaintSummary.customer_id.in_(customer_ids), ComplaintSummary.is_open.is_(True)
        ).order_by(ComplaintSummary.opened_at)
        return list((await self.session.scalars(statement)).all())

    # --- what a KPI rebuild replays (a system principal's repository sees every dealer) ------

    async def closed_visits_page(self, params: PageParams) -> tuple[list[ServiceVisit], str | None]:
        statement = self.select(ServiceVisit).where(ServiceVisit.closed_at.is_not(None))
        return await keyset_page(self.session, statement, ServiceVisit, params)

    async def deliveries_page(self, params: PageParams) -> tuple[list[Delivery], str | None]:
        return await keyset_page(self.session, self.select(Delivery), Delivery, params)

    async def followups_page(self, params: PageParams) -> tuple[list[FollowUp], str | None]:
        return await keyset_page(self.session, self.select(FollowUp), FollowUp, params)

    async def appointments_page(self, params: PageParams) -> tuple[list[Appointment], str | None]:
        return await keyset_page(self.session, self.select(Appointment), Appointment, params)

    # --- references another service's write names (run under that write's caller) ------------

    async def unknown_references(self, dealer_code: str, customer_id: uuid.UUID | None, vin: str | None,
                                 ro_number: str | None) -> list[dict[str, str]]:
        """The references that are not the named dealer's records as the caller sees them.

        A customer of the dealer; a vehicle on file at the dealer; a visit (RO) of the dealer
        that, where given, is of that vehicle and that customer. Every query runs, so the time
        taken does not tell which reference failed or why.
        """
        person = await self.customer(customer_id) if customer_id else None
        car = await self.dealer_vehicle(dealer_code, vin) if vin else None
        visit = await self.visit_by_ro(dealer_code, ro_number) if ro_number else None
        unknown = []
        if customer_id and (person is None or person.dealer_code != dealer_code):
            unknown.append({"field": "customer_id", "message": "unknown customer"})
        if vin and car is None:
            unknown.append({"field": "vin", "message": "unknown vehicle"})
        if ro_number and (visit is None or (vin and visit.vin != vin)
                          or (customer_id and visit.customer_id != customer_id)):
            unknown.append({"field": "ro_number", "message": "unknown visit"})
        return unknown

    # --- the owner on record, across dealers (first-time-fix evidence) -------------------------

    async def vin_has_visit(self, vin: str, ro_number: str, besides: tuple[str, str]) -> bool:
        """Whether the VIN has a visit with this RO number at any dealer, other than the visit
        `besides` names (dealer code, RO number): what a repeat visit's `repeat_of_ro` must name.

        Reads across the tree on purpose (the first fix may have been another network's), and
        answers yes or no, never a row: nothing of the other dealer reaches the caller."""
        async with rls.acting_for(self.session, rls.SYSTEM_PATH):
            found = await self.session.scalar(select(ServiceVisit.id).where(
                ServiceVisit.vin == vin, ServiceVisit.ro_number == ro_number,
                or_(ServiceVisit.dealer_code != besides[0], ServiceVisit.ro_number != besides[1])).limit(1))
        return found is not None

    async def is_owner_on_record(self, vin: str, dealer_code: str, phone: str | None) -> bool:
        """Whether a customer of `dealer_code` with this phone is the VIN's owner on record: the owner
        on the file of the selling dealer (the latest delivery of the VIN), or that dealer itself.

        Reads across the tree on purpose: the selling dealer may be in another network, and a
        repeat visit recorded here fails that dealer's first-time fix (KPI.md fir) only when it
        is the owner's. It answers yes or no, never a row: nothing of the other dealer reaches
        the caller. No delivery on record: no owner to check against, so no.
        """
        async with rls.acting_for(self.session, rls.SYSTEM_PATH):
            seller = await self.session.scalar(
                select(Delivery.dealer_code).where(Delivery.vin == vin)
                .order_by(Delivery.delivered_at.desc(), Delivery.created_at.desc()).limit(1))
            if seller is None or seller == dealer_code:
                return seller is not None
            if phone is None:
                return False
            owner_phone = await self.session.scalar(
                select(Customer.phone).join(Vehicle, Vehicle.owner_customer_id == Customer.id)
                .where(Vehicle.dealer_code == seller, Vehicle.vin == vin).limit(1))
            return owner_phone == phone
