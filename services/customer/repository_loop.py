"""The customer service's reads for the quality loop's tasks (bulletin reminders, recall calls):
the dealer's manager, and who can be called about a recalled VIN."""

import uuid

from services.customer.models import Customer, Staff, Vehicle
from services.customer.repository import CustomerRepository


class LoopCustomerRepository(CustomerRepository):
    async def manager_code(self, dealer_code: str) -> str | None:
        """The dealer's active service manager (the first by code when there are several)."""
        return await self.session.scalar(self.select(Staff, Staff.code).where(
            Staff.dealer_code == dealer_code, Staff.role == "manager", Staff.active.is_(True))
            .order_by(Staff.code).limit(1))

    async def contactable_owners(self, dealer_code: str, vins: list[str]) -> dict[str, uuid.UUID]:
        """VIN -> the owner on the dealer's file who can be called (a phone, not erased)."""
        rows = await self.session.execute(self.select(Vehicle, Vehicle.vin, Customer.id)
                                          .join(Customer, Customer.id == Vehicle.owner_customer_id)
                                          .where(Vehicle.dealer_code == dealer_code, Vehicle.vin.in_(vins),
                                                 Customer.phone.is_not(None), Customer.erased_at.is_(None)))
        return {vin: customer_id for vin, customer_id in rows}
