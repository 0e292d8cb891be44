"""The SQL of the lifecycle and value job (services/customer/standing.py): where each customer
stands, recomputed from the service history.

One run stages a fresh row per customer in a temporary table, `standing_fresh`, then compares it
with `customer_standing` (the lifecycle changes to publish) and writes it over (one upsert).
On PostgreSQL the staging is set-based: one INSERT ... SELECT over the visits (LAG for the gaps
between visits, aggregates per customer, RANK and COUNT over each dealer's window for the RFM
quintiles); the rules are services/customer/lifecycle.py's, written as SQL.
SQLite (`make run`) has no interval arithmetic on calendar months: there the rows are computed
with lifecycle.py itself and staged by the batch.

The job is the system principal's (it runs for every dealer); each statement still carries
the principal's org scope (`:scope`), as every statement of the service does.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, Column, Integer, MetaData, String, Table, Uuid, bindparam, func, insert, literal, select, text,
)
from sqlalchemy.dialects import postgresql, sqlite

from services.customer import lifecycle
from services.customer.models import Customer, CustomerStanding, ServiceVisit
from services.customer.repository import CustomerRepository
from shared.db import UTCDateTime
from shared.scope import like_prefix, visible_to

FRESH = Table(
    "standing_fresh", MetaData(),
    Column("customer_id", Uuid, primary_key=True), Column("dealer_code", String(40)), Column("org_path", String(400)),
    Column("lifecycle", String(20)), Column("lifecycle_since", UTCDateTime), Column("last_visit_at", UTCDateTime),
    Column("lapsed_at", UTCDateTime), Column("recency_days", Integer), Column("frequency_24m", Integer),
    Column("monetary_24m_minor", BigInteger), Column("rfm", String(3)), Column("segment", String(20)),
    # No stored row yet, as the stage found it: the write inserts these and updates the others,
    # without reading customer_standing while writing it.
    Column("is_new", Boolean),
)
COLUMNS = [column.name for column in FRESH.columns if column.name != "is_new"]

# ON COMMIT DELETE ROWS: the table lives as long as the pooled connection, its rows as long as
# one run's transaction; a visit event does not create and drop a table each time.
_FRESH_DDL = {
    "postgresql": """CREATE TEMPORARY TABLE IF NOT EXISTS standing_fresh (customer_id uuid PRIMARY KEY,
        dealer_code varchar(40) NOT NULL, org_path varchar(400) NOT NULL, lifecycle varchar(20) NOT NULL,
        lifecycle_since timestamptz NOT NULL, last_visit_at timestamptz, lapsed_at timestamptz, recency_days integer,
        frequency_24m integer NOT NULL, monetary_24m_minor bigint NOT NULL, rfm varchar(3), segment varchar(20),
        is_new boolean NOT NULL) ON COMMIT DELETE ROWS""",
    "sqlite": """CREATE TEMPORARY TABLE IF NOT EXISTS standing_fresh (customer_id CHAR(32) PRIMARY KEY,
        dealer_code VARCHAR(40) NOT NULL, org_path VARCHAR(400) NOT NULL, lifecycle VARCHAR(20) NOT NULL,
        lifecycle_since DATETIME NOT NULL, last_visit_at DATETIME, lapsed_at DATETIME, recency_days INTEGER,
        frequency_24m INTEGER NOT NULL, monetary_24m_minor BIGINT NOT NULL, rfm VARCHAR(3), segment VARCHAR(20),
        is_new BOOLEAN NOT NULL)""",
}


def _plus(expression: str, months: int) -> str:
    """`expression` + calendar months, the day clamped as lifecycle.shift_months. A timestamptz
    plus an interval follows the session's time zone: `stage` sets it to UTC for its transaction
    (cheaper than converting each of millions of values there and back with AT TIME ZONE)."""
    return f"({expression} + interval '{months} months')"


def _stage_sql(one_customer: bool) -> str:
    """lifecycle.history_of, lifecycle_of and (for every customer in scope; not for one, whose
    score is the dealer's) quintiles and segment_of, as one statement."""
    only = "AND customer_id = :one" if one_customer else ""
    only_customer = "AND c.id = :one" if one_customer else ""
    lapsed, at_risk, back = lifecycle.LAPSED_MONTHS, lifecycle.AT_RISK_MONTHS, lifecycle.WON_BACK_MONTHS
    return f"""INSERT INTO standing_fresh (customer_id, dealer_code, org_path, lifecycle, lifecycle_since,
        last_visit_at, lapsed_at, recency_days, frequency_24m, monetary_24m_minor, rfm, segment, is_new)
WITH g AS (
    SELECT customer_id, closed_at AS at, COALESCE(amount_minor, 0) AS amount,
        lag(closed_at) OVER (PARTITION BY customer_id ORDER BY closed_at, id) AS prev_at
    FROM service_visits
    WHERE closed_at IS NOT NULL AND closed_at <= :now AND org_path LIKE :scope ESCAPE '/' {only}
), v AS (
    -- Each gap's month arithmetic once per visit: a return from a lapse (and when that lapse
    -- began), the start of a run of regular visits.
    SELECT customer_id, at, amount, {_plus("prev_at", lapsed)} AS lapse_at,
        prev_at IS NOT NULL AND at >= {_plus("prev_at", lapsed)} AS returned,
        prev_at IS NULL OR at >= {_plus("prev_at", at_risk)} AS resumed
    FROM g
), h AS (
    -- Returns come in time order, so the latest return's lapse began last: max() finds both.
    SELECT customer_id, max(at) AS last_at,
        max(at) FILTER (WHERE returned) AS returned_at, max(lapse_at) FILTER (WHERE returned) AS returned_lapse_at,
        max(at) FILTER (WHERE resumed) AS resumed_at,
        count(*) FILTER (WHERE at >= :since) AS frequency,
        COALESCE(sum(amount) FILTER (WHERE at >= :since), 0) AS monetary
    FROM v GROUP BY customer_id
), s AS (
    SELECT c.id, c.dealer_code, c.org_path, c.created_at, h.*, COALESCE(h.frequency, 0) > 0 AS scored,
        stored.customer_id IS NULL AS is_new,
        CASE WHEN h.last_at IS NULL THEN 'prospect'
             WHEN {_plus("h.last_at", lapsed)} <= :now THEN 'lapsed'
             WHEN {_plus("h.last_at", at_risk)} <= :now THEN 'at_risk'
             WHEN h.returned_at IS NOT NULL AND :now < {_plus("h.returned_at", back)} THEN 'won_back'
             ELSE 'active' END AS state
    FROM customers c LEFT JOIN h ON h.customer_id = c.id LEFT JOIN customer_standing stored ON stored.customer_id = c.id
    WHERE c.org_path LIKE :scope ESCAPE '/' {only_customer}
)
{_scored(one_customer)}
SELECT id, dealer_code, org_path, state,
    CASE state WHEN 'prospect' THEN created_at
               WHEN 'lapsed' THEN {_plus("last_at", lapsed)}
               WHEN 'at_risk' THEN {_plus("last_at", at_risk)}
               WHEN 'won_back' THEN returned_at
               ELSE GREATEST(COALESCE(resumed_at, last_at), {_plus("returned_at", back)}) END,
    last_at,
    CASE state WHEN 'lapsed' THEN {_plus("last_at", lapsed)} ELSE returned_lapse_at END,
    floor(extract(epoch FROM (:now - last_at)) / 86400)::integer,
    COALESCE(frequency, 0), COALESCE(monetary, 0),
    r::text || f::text || m::text,
    CASE WHEN r IS NULL THEN NULL
         WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champion'
         WHEN r >= 3 AND f >= 4 THEN 'loyal'
         WHEN r >= 4 AND frequency = 1 THEN 'new'
         WHEN r <= 2 AND (f >= 3 OR m >= 3) THEN 'at_risk'
         WHEN r <= 2 THEN 'hibernating'
         ELSE 'regular' END,
    is_new
FROM q"""


def _scored(one_customer: bool) -> str:
    """The R, F and M quintiles of the customers with a visit in the 24 months, within each dealer
    (null for the others, and for one customer alone: `stage` keeps their stored score)."""
    if one_customer:
        return ", q AS (SELECT s.*, NULL::integer AS r, NULL::integer AS f, NULL::integer AS m FROM s)"
    return f""", q AS (
    SELECT s.*, {_quintile("last_at")} AS r, {_quintile("frequency")} AS f, {_quintile("monetary")} AS m FROM s
)"""


def _quintile(order: str) -> str:
    """lifecycle.quintiles: `1 + 5 * (rank - 1) // n` among the dealer's scored customers."""
    window = "PARTITION BY dealer_code, scored"
    return f"CASE WHEN scored THEN 1 + 5 * (rank() OVER ({window} ORDER BY {order}) - 1) / count(*) OVER ({window}) END"


# What one statement computing the same quintiles costs: the bench's reference (bench/lifecycle.py).
QUINTILES_ONLY_SQL = """WITH h AS (
    SELECT customer_id, dealer_code, max(closed_at) AS last_at, count(*) AS frequency,
        sum(COALESCE(amount_minor, 0)) AS monetary
    FROM service_visits WHERE closed_at IS NOT NULL AND closed_at <= :now AND closed_at >= :since
        AND org_path LIKE :scope ESCAPE '/'
    GROUP BY customer_id, dealer_code
)
SELECT count(*), sum(r), sum(f), sum(m) FROM (
    SELECT 1 + 5 * (rank() OVER (PARTITION BY dealer_code ORDER BY last_at) - 1) / count(*) OVER (PARTITION BY dealer_code) AS r,
        1 + 5 * (rank() OVER (PARTITION BY dealer_code ORDER BY frequency) - 1) / count(*) OVER (PARTITION BY dealer_code) AS f,
        1 + 5 * (rank() OVER (PARTITION BY dealer_code ORDER BY monetary) - 1) / count(*) OVER (PARTITION BY dealer_code) AS m
    FROM h) scored"""


class StandingRepository(CustomerRepository):
    """Customer standing for the job and the visit events; built for the system principal."""

    @property
    def _postgres(self) -> bool:
        return self.session.bind.dialect.name == "postgresql"

    def _scope(self) -> str:
        return like_prefix(self.principal.path.prefix)

    async def claim_run(self) -> bool:
        """Whether this transaction may run the job: on PostgreSQL, a transaction-scoped advisory
        lock that another replica's run holds until it commits (SQLite: one process)."""
        if not self._postgres:
            return True
        return bool(await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext('csloop.customer_standing'))")))

    async def stage(self, now: datetime, customer_id: uuid.UUID | None = None) -> None:
        """Fill standing_fresh: every customer in scope (with the RFM scores), or one (keeping its
        stored RFM score and segment: quintiles are the whole dealer's, the daily run's work)."""
        await self.session.execute(text(_FRESH_DDL["postgresql" if self._postgres else "sqlite"]))
        await self.session.execute(FRESH.delete())
        if self._postgres:
            await self.session.execute(text("SET LOCAL TimeZone = 'UTC'"))
            params = {"now": now, "since": lifecycle.shift_months(now, -lifecycle.VALUE_MONTHS), "scope": self._scope()}
            statement = text(_stage_sql(customer_id is not None)).bindparams(
                bindparam("now", type_=UTCDateTime), bindparam("since", type_=UTCDateTime))
            if customer_id is not None:
                params["one"] = customer_id
                statement = statement.bindparams(bindparam("one", type_=Uuid))
            await self.session.execute(statement, params)
            if customer_id is None:
                # A temporary table has no statistics until analysed: the comparison with the stored
                # rows and the upsert would be planned for a handful of rows, not a million.
                await self.session.execute(text("ANALYZE standing_fresh"))
        else:
            rows = await self._computed_rows(now, customer_id)
            if rows:
                await self.session.execute(insert(FRESH), rows)
        if customer_id is not None:
            await self._keep_stored_score()

    async def _computed_rows(self, now: datetime, customer_id: uuid.UUID | None) -> list[dict[str, Any]]:
        """The SQLite path: the customers and their closed visits read, lifecycle.py's rules applied."""
        customers = self.select(Customer, Customer.id, Customer.dealer_code, Customer.org_path, Customer.created_at)
        visits = self.select(ServiceVisit, ServiceVisit.customer_id, ServiceVisit.closed_at, ServiceVisit.amount_minor).where(
            ServiceVisit.closed_at.is_not(None), ServiceVisit.closed_at <= now)
        if customer_id is not None:
            customers = customers.where(Customer.id == customer_id)
            visits = visits.where(ServiceVisit.customer_id == customer_id)
        stored = self.select(CustomerStanding, CustomerStanding.customer_id)
        if customer_id is not None:
            stored = stored.where(CustomerStanding.customer_id == customer_id)
        known = set((await self.session.scalars(stored)).all())
        by_customer: dict[uuid.UUID, list[lifecycle.Visit]] = {}
        for owner, closed_at, amount in (await self.session.execute(visits)).all():
            by_customer.setdefault(owner, []).append(lifecycle.Visit(closed_at, amount or 0))
        rows = []
        for ident, dealer_code, org_path, created_at in (await self.session.execute(customers)).all():
            history = lifecycle.history_of(by_customer.get(ident, []), now)
            state = lifecycle.lifecycle_of(history, now, created_at)
            rows.append({"customer_id": ident, "dealer_code": dealer_code, "org_path": org_path,
                         "lifecycle": state.state, "lifecycle_since": state.since,
                         "last_visit_at": history.last_visit_at, "lapsed_at": state.lapsed_at,
                         "recency_days": lifecycle.recency_days(history, now), "frequency_24m": history.frequency_24m,
                         "monetary_24m_minor": history.monetary_24m_minor, "rfm": None, "segment": None,
                         "is_new": ident not in known})
        if customer_id is None:
            _score(rows)
        return rows

    async def _keep_stored_score(self) -> None:
        def stored(column: Any) -> Any:
            return select(column).where(CustomerStanding.customer_id == FRESH.c.customer_id,
                                        visible_to(CustomerStanding, self.principal)).scalar_subquery()

        await self.session.execute(FRESH.update().values(rfm=stored(CustomerStanding.rfm),
                                                         segment=stored(CustomerStanding.segment)))

    async def changes(self) -> list[Any]:
        """The staged customers whose lifecycle differs from the stored one (none stored: prospect)."""
        old = func.coalesce(CustomerStanding.lifecycle, "prospect")
        statement = (select(FRESH.c.customer_id, FRESH.c.dealer_code, FRESH.c.org_path, FRESH.c.lifecycle,
                            FRESH.c.lifecycle_since, FRESH.c.last_visit_at, old.label("previous"))
                     .outerjoin(CustomerStanding, CustomerStanding.customer_id == FRESH.c.customer_id)
                     .where(old != FRESH.c.lifecycle))
        return list((await self.session.execute(statement)).all())

    async def write_staged(self, now: datetime) -> tuple[int, set[uuid.UUID]]:
        """Write the staged rows over customer_standing: an UPDATE joined to the stage of the rows
        whose lifecycle stays, one of those whose lifecycle moves, then an INSERT of the customers
        new to it, as the stage found them (an anti-join on the table being inserted into would be
        planned, on a first run, as a scan of it per row). Returns how many rows it wrote, and the
        customers whose lifecycle this write changed: the changes to publish. They are decided at
        write time, not when the stage was compared: another transaction moving a customer
        meanwhile (a visit's event in another replica, while the daily run runs) holds its row, and
        once it commits the move is re-checked on its row and, already made, neither written nor
        published again; of two inserting a new customer, the one whose row went in publishes. A row
        a visit event wrote after `now` (while the daily run computed from an older snapshot) is
        newer than the run's: kept."""
        stored = CustomerStanding.__table__
        ours = (stored.c.customer_id == FRESH.c.customer_id, FRESH.c.is_new.is_(False), stored.c.computed_at <= now,
                visible_to(CustomerStanding, self.principal))
        values = {name: FRESH.c[name] for name in COLUMNS[1:]} | {"computed_at": now}
        kept = await self.session.execute(stored.update().where(*ours, stored.c.lifecycle == FRESH.c.lifecycle)
                                          .values(values))
        moved = set((await self.session.execute(
            stored.update().where(*ours, stored.c.lifecycle != FRESH.c.lifecycle).values(values)
            .returning(stored.c.customer_id))).scalars())
        dialect = postgresql if self._postgres else sqlite
        source = select(*[FRESH.c[name] for name in COLUMNS], literal(now, UTCDateTime).label("computed_at")).where(
            FRESH.c.is_new.is_(True))
        inserted = (await self.session.execute(
            dialect.insert(CustomerStanding).from_select([*COLUMNS, "computed_at"], source)
            .on_conflict_do_nothing(index_elements=["customer_id"])
            .returning(CustomerStanding.customer_id, CustomerStanding.lifecycle))).all()
        written = (kept.rowcount or 0) + len(moved) + len(inserted)
        # No stored row reads as a prospect (`changes`): a new one moved unless it is one.
        return written, moved | {customer_id for customer_id, state in inserted if state != "prospect"}

    async def win_back_candidates(self, after: uuid.UUID | None, limit: int) -> list[Any]:
        """At-risk customers who accept marketing (not erased), a page in id order after `after`,
        with their last visit (what names the lapse: one win-back per lapse)."""
        statement = (self.select(CustomerStanding, CustomerStanding.customer_id, CustomerStanding.dealer_code,
                                 CustomerStanding.org_path, CustomerStanding.last_visit_at)
                     .join(Customer, Customer.id == CustomerStanding.customer_id)
                     .where(CustomerStanding.lifecycle == "at_risk", Customer.consent_marketing.is_(True),
                            Customer.erased_at.is_(None)))
        if after is not None:
            statement = statement.where(CustomerStanding.customer_id > after)
        return list((await self.session.execute(statement.order_by(CustomerStanding.customer_id).limit(limit))).all())

    async def quintiles_only(self, now: datetime) -> Any:
        """The bench's reference: one statement computing the same quintiles (PostgreSQL)."""
        statement = text(QUINTILES_ONLY_SQL).bindparams(bindparam("now", type_=UTCDateTime),
                                                        bindparam("since", type_=UTCDateTime))
        return (await self.session.execute(statement, {
            "now": now, "since": lifecycle.shift_months(now, -lifecycle.VALUE_MONTHS), "scope": self._scope()})).one()


def _score(rows: list[dict[str, Any]]) -> None:
    """lifecycle.quintiles and segment_of over each dealer's rows with a visit in the 24 months."""
    by_dealer: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["frequency_24m"] > 0:
            by_dealer.setdefault(row["dealer_code"], []).append(row)
    for scored in by_dealer.values():
        r = lifecycle.quintiles([row["last_visit_at"].timestamp() for row in scored])
        f = lifecycle.quintiles([row["frequency_24m"] for row in scored])
        m = lifecycle.quintiles([row["monetary_24m_minor"] for row in scored])
        for row, rq, fq, mq in zip(scored, r, f, m, strict=True):
            row["rfm"] = lifecycle.rfm_label(rq, fq, mq)
            row["segment"] = lifecycle.segment_of(rq, fq, mq, row["frequency_24m"])
