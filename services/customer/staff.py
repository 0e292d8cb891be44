"""Staff of a dealer, named by code on deliveries, visits, follow-ups, attempts, interactions and
appointments (API.md, Staff)."""

from services.customer.repository import CustomerRepository
from shared.problems import UnprocessableContent


async def require_staff_code(repo: CustomerRepository, dealer_code: str, field: str, code: str | None) -> None:
    """A body field naming a staff member must name an active one of the record's dealer: an
    unknown code is a 422 naming the field, worded like every unknown reference (API.md)."""
    if code is not None and await repo.active_staff(dealer_code, code) is None:
        raise UnprocessableContent("Unknown staff member", errors=[{"field": field, "message": "unknown staff member"}])
