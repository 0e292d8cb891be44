"""The SQL of the retention figures (issue 16 item 6): how many customers of an org's subtree stand
in each lifecycle state and each value segment, one GROUP BY over the customers and their standing."""

from dataclasses import dataclass

from sqlalchemy import func

from services.customer.models import Customer, CustomerStanding
from services.customer.repository import CustomerRepository


@dataclass(frozen=True)
class StandingCount:
    lifecycle: str
    segment: str | None
    customers: int


class RetentionRepository(CustomerRepository):
    async def standing_counts(self, org_path: str) -> list[StandingCount]:
        """Customers of the subtree at `org_path` (within the caller's) per (lifecycle, segment).

        The rule of the customer list filtered by `lifecycle` or `segment` (CustomerRepository.customers):
        no standing stored yet is a prospect without a segment, and above the dealer a customer who
        does not share with the manufacturer is not counted, as the list never finds them."""
        lifecycle = func.coalesce(CustomerStanding.lifecycle, "prospect")
        statement = (self.select(Customer, lifecycle, CustomerStanding.segment, func.count(Customer.id))
                     .outerjoin(CustomerStanding, CustomerStanding.customer_id == Customer.id)
                     .where(Customer.org_path.startswith(org_path, autoescape=True), self._findable_by_contact())
                     .group_by(lifecycle, CustomerStanding.segment))
        return [StandingCount(state, segment, int(count))
                for state, segment, count in (await self.session.execute(statement)).all()]
