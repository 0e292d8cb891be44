"""Who served the customer on the visit or delivery a survey follows (issue 15).

An invitation keeps the staff codes of its record in three columns (advisor, technician,
sales_consultant); its response copies them, an imported row names its own. Payloads, reads and
the KPI facts show them as one `staff` object, null when the record named nobody.

A code a body names (an API invitation's `context.staff`, an imported row's `staff`) must be a
staff member of the record's dealer, retired ones included (a survey follows a visit or delivery
already made): the customer service answers with the caller's token, and any other code is the
422 "unknown staff member" of every unknown reference (API.md). Event-made invitations take the
codes the customer service already checked. A code names no customer, so nothing is masked.
"""

from typing import Any

from pydantic import BaseModel

from shared.contracts.survey import StaffOnRecord

ROLES = ("advisor", "technician", "sales_consultant")


def columns(staff: BaseModel | None) -> dict[str, str | None]:
    """The row's three columns from a body's or an event's staff (all None for nobody)."""
    return {role: getattr(staff, role, None) for role in ROLES}


def named(staff: BaseModel | None) -> set[str]:
    return {code for code in columns(staff).values() if code is not None}


def unknown(staff: BaseModel | None, known: set[str], prefix: str) -> list[dict[str, str]]:
    """One `{field, message}` per role whose code is not among the dealer's `known` codes."""
    return [{"field": f"{prefix}.{role}", "message": "unknown staff member"}
            for role, code in columns(staff).items() if code is not None and code not in known]


def of(row: Any) -> StaffOnRecord | None:
    """The staff a row (an invitation, a response, a claimed invitation's columns) names, or None."""
    named = {role: getattr(row, role) for role in ROLES}
    return StaffOnRecord(**named) if any(named.values()) else None
