"""The SQL of care campaigns (issue 16): the audience a campaign matches, its members, and the
visits that measure it. Every statement carries the caller's scope (shared.scope), and the
audience also the campaign owner's subtree and the consent to share above the dealer."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, extract, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from services.customer.models import Campaign, CampaignMember, Customer, CustomerStanding, ServiceVisit, Vehicle
from services.customer.repository import CustomerRepository
from shared.pagination import PageParams, list_page
from shared.problems import NotFound

# Rows per INSERT of members: 6 columns each stays far below PostgreSQL's 32,767 parameters.
MEMBER_CHUNK = 2000


@dataclass(frozen=True)
class Audience:
    """A campaign's audience filters (schemas.CampaignAudience), each None when not given."""

    lifecycle: str | None = None
    segment: str | None = None
    model: str | None = None
    last_visit_before: datetime | None = None
    birthday_month: int | None = None


@dataclass(frozen=True)
class AudienceMember:
    customer_id: uuid.UUID
    dealer_code: str
    org_path: str
    marketing: bool


@dataclass(frozen=True)
class CohortOutcome:
    members: int
    visited: int


class CampaignRepository(CustomerRepository):
    async def campaign(self, campaign_id: uuid.UUID) -> Campaign:
        return await self.get_visible(Campaign, campaign_id, missing=f"No campaign {campaign_id}")

    async def campaign_for_update(self, campaign_id: uuid.UUID) -> Campaign:
        """The campaign, locked until the transaction ends: two launches at once must not both
        find it a draft (the second waits, then finds it launched)."""
        campaign = (await self.session.scalars(
            self.select(Campaign).where(Campaign.id == campaign_id).with_for_update().limit(1))).first()
        if campaign is None:
            raise NotFound(f"No campaign {campaign_id}")
        return campaign

    async def campaigns(self, page: PageParams, updated_since: datetime | None, *, org_code: str | None = None,
                        status: str | None = None) -> tuple[list[Campaign], str | None]:
        statement = self.select(Campaign)
        if org_code is not None:
            statement = statement.where(Campaign.org_code == org_code)
        if status is not None:
            statement = statement.where(Campaign.status == status)
        return await list_page(self.session, statement, Campaign, page, updated_since)

    # --- the audience ---------------------------------------------------------------------

    def _audience(self, owner_path: str, audience: Audience, *columns: Any) -> Select[Any]:
        """The customers of the owner's subtree (and the caller's) the filters match, not erased.

        Above the dealer only customers who share with the manufacturer are in it, as a search
        by phone or text finds only them (CustomerRepository._findable_by_contact): a
        distributor's or the manufacturer's campaign reaches no one who did not agree to be
        known above their dealer. A dealer's own campaign reaches all its customers."""
        statement = select(*columns).where(
            self.readable(Customer), Customer.org_path.startswith(owner_path, autoescape=True),
            Customer.erased_at.is_(None),
            or_(Customer.consent_share_with_manufacturer.is_(True), Customer.org_path == owner_path))
        standing: list[ColumnElement[bool]] = []
        if audience.lifecycle is not None:
            standing.append(CustomerStanding.lifecycle == audience.lifecycle)
        if audience.segment is not None:
            standing.append(CustomerStanding.segment == audience.segment)
        if audience.last_visit_before is not None:
            standing.append(CustomerStanding.last_visit_at < audience.last_visit_before)
        if standing:
            statement = statement.join(CustomerStanding, CustomerStanding.customer_id == Customer.id).where(*standing)
        if audience.model is not None:
            statement = statement.where(exists().where(
                Vehicle.owner_customer_id == Customer.id, Vehicle.dealer_code == Customer.dealer_code,
                func.lower(Vehicle.model) == audience.model.lower(), self.readable(Vehicle)))
        if audience.birthday_month is not None:
            statement = statement.where(extract("month", Customer.birth_date) == audience.birthday_month)
        return statement

    async def audience_size(self, owner_path: str, audience: Audience) -> int:
        return int(await self.session.scalar(self._audience(owner_path, audience, func.count(Customer.id))) or 0)

    async def audience(self, owner_path: str, audience: Audience) -> list[AudienceMember]:
        statement = self._audience(owner_path, audience, Customer.id, Customer.dealer_code, Customer.org_path,
                                   Customer.consent_marketing).order_by(Customer.id)
        return [AudienceMember(*row) for row in (await self.session.execute(statement)).all()]

    # --- launch -----------------------------------------------------------------------------

    async def add_members(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert the members a launch drew; the customers newly inserted. A customer the campaign
        has already (a retried launch) is skipped, so its message is not published again."""
        rows = [row for row in rows if self.principal.sees(row["org_path"])]
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        inserted: set[uuid.UUID] = set()
        for start in range(0, len(rows), MEMBER_CHUNK):
            statement = (dialect.insert(CampaignMember).values(rows[start:start + MEMBER_CHUNK])
                         .on_conflict_do_nothing(index_elements=["campaign_id", "customer_id"])
                         .returning(CampaignMember.customer_id))
            inserted.update((await self.session.scalars(statement)).all())
        return inserted

    # --- results ----------------------------------------------------------------------------

    async def cohorts(self, campaign_id: uuid.UUID) -> dict[uuid.UUID, str]:
        """Each member's cohort (sent or holdout), by customer id."""
        statement = self.select(CampaignMember, CampaignMember.customer_id, CampaignMember.cohort).where(
            CampaignMember.campaign_id == campaign_id)
        return {customer_id: cohort for customer_id, cohort in (await self.session.execute(statement)).all()}

    async def outcome(self, campaign_id: uuid.UUID, start: datetime, end: datetime) -> dict[str, CohortOutcome]:
        """Per cohort: members, and members with a service visit in [start, end) (KPI.md, Campaign uplift).
        A visit counts from when it opened (else closed, else was recorded)."""
        at = func.coalesce(ServiceVisit.opened_at, ServiceVisit.closed_at, ServiceVisit.created_at)
        visited = exists().where(ServiceVisit.customer_id == CampaignMember.customer_id, self.readable(ServiceVisit),
                                 at >= start, at < end)
        statement = (self.select(CampaignMember, CampaignMember.cohort, func.count(),
                                 func.sum(case((visited, 1), else_=0)))
                     .where(CampaignMember.campaign_id == campaign_id).group_by(CampaignMember.cohort))
        return {cohort: CohortOutcome(int(members), int(seen or 0))
                for cohort, members, seen in (await self.session.execute(statement)).all()}
