"""Who served the customer on the visit or delivery a survey follows (issue 15).

An invitation keeps the staff codes of its record in three columns (advisor, technician,
sales_consultant); its response copies them, an imported row names its own. Payloads, reads and
the KPI facts show them as one `staff` object, null when the record named nobody. The codes are
the dealer's (API.md, Staff) and are taken as given: a third-party study may name people since
retired, and a code names no customer, so nothing is masked.
"""

from typing import Any

from pydantic import BaseModel

from shared.contracts.survey import StaffOnRecord

ROLES = ("advisor", "technician", "sales_consultant")


def columns(staff: BaseModel | None) -> dict[str, str | None]:
    """The row's three columns from a body's or an event's staff (all None for nobody)."""
    return {role: getattr(staff, role, None) for role in ROLES}


def of(row: Any) -> StaffOnRecord | None:
    """The staff a row (an invitation, a response, a claimed invitation's columns) names, or None."""
    named = {role: getattr(row, role) for role in ROLES}
    return StaffOnRecord(**named) if any(named.values()) else None
