"""Staff of a dealer, named by code on deliveries, visits, follow-ups, attempts, interactions and
appointments (API.md, Staff).

Every create and every change publishes staff.changed (in the write's transaction, through the
outbox) with the member's `version`: the KPI service names people in its scorecards from it and
keeps the highest version whatever order the events arrive in."""

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError

from services.customer.dealers import dealer_for_write
from services.customer.models import Staff
from services.customer.repository import CustomerRepository
from services.customer.schemas import StaffCreate, StaffUpdate
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.etag import check_version
from shared.events import CloudEvent, new_event
from shared.orgs import OrgDirectory
from shared.problems import Conflict, UnprocessableContent

# How a use case checks a staff code a record names: `require_staff_code` by default; an import
# passes a `KnownStaff` of its batch instead, so the check costs no query per row.
StaffCheck = Callable[[CustomerRepository, str, str, str | None], Awaitable[None]]


def _unknown(field: str) -> UnprocessableContent:
    return UnprocessableContent("Unknown staff member", errors=[{"field": field, "message": "unknown staff member"}])


async def require_staff_code(repo: CustomerRepository, dealer_code: str, field: str, code: str | None) -> None:
    """A body field naming a staff member must name an active one of the record's dealer: an
    unknown code is a 422 naming the field, worded like every unknown reference (API.md)."""
    if code is not None and await repo.active_staff(dealer_code, code) is None:
        raise _unknown(field)


class KnownStaff:
    """The active codes of one dealer among those an import batch names, read in one query; a
    `StaffCheck` for the rows of that batch."""

    def __init__(self, dealer_code: str, active: set[str]) -> None:
        self.dealer_code = dealer_code
        self.active = active

    @classmethod
    async def of(cls, repo: CustomerRepository, dealer_code: str, codes: set[str]) -> "KnownStaff":
        return cls(dealer_code, await repo.active_staff_codes(dealer_code, codes))

    async def __call__(self, repo: CustomerRepository, dealer_code: str, field: str, code: str | None) -> None:
        if code is None:
            return
        if dealer_code != self.dealer_code:  # not this batch's dealer: ask the database
            await require_staff_code(repo, dealer_code, field, code)
        elif code not in self.active:
            raise _unknown(field)


def staff_state(member: Staff) -> contract.StaffChanged:
    """The member as staff.changed tells it (and `GET /internal/facts/staff` answers it)."""
    return contract.StaffChanged(dealer_code=member.dealer_code, org_path=member.org_path, staff_id=member.id,
                                 code=member.code, name=member.name, role=member.role,  # type: ignore[arg-type]
                                 active=member.active, version=member.version)


def staff_changed(member: Staff) -> CloudEvent:
    return new_event(contract.SOURCE, contract.STAFF_CHANGED, f"staff/{member.id}",
                     staff_state(member).model_dump(mode="json"))


async def known_codes(repo: CustomerRepository, dealer_code: str, codes: list[str]) -> list[str]:
    """Of these codes, those naming a staff member of the dealer, retired ones included (a survey
    follows a visit or delivery already made, perhaps by someone who has left since), in one query;
    none when the dealer is outside the caller's subtree."""
    return sorted(await repo.staff_codes(dealer_code, set(codes)))


async def create_staff(repo: CustomerRepository, directory: OrgDirectory, data: StaffCreate) -> Staff:
    """The dealer itself or an org above it adds a staff member; a code taken in the dealer, even
    by a retired member (whose history keeps it), is a 409."""
    dealer = await dealer_for_write(repo.principal, directory, data.dealer_code)
    if existing := await repo.staff_with_code(dealer.code, data.code):
        raise Conflict("This dealer already has a staff member with this code", existing_id=str(existing.id),
                       errors=[{"field": "code", "message": "already on file"}])
    now = utcnow()
    member = Staff(dealer_code=dealer.code, org_path=dealer.path, created_at=now, updated_at=now, code=data.code,
                   name=data.name, role=data.role, active=True, version=1)
    try:
        await repo.add(member)
    except IntegrityError as exc:  # a concurrent create won the unique race after our check
        raise Conflict("This dealer already has a staff member with this code",
                       errors=[{"field": "code", "message": "already on file"}]) from exc
    await repo.publish(staff_changed(member))
    return member


async def update_staff(repo: CustomerRepository, staff_id: uuid.UUID, data: StaffUpdate, if_match: str | None) -> Staff:
    """Rename, change the role, retire (`active` false) or bring back a code; the code itself
    stays, since records name the person by it."""
    member = await repo.get_visible(Staff, staff_id, missing=f"No staff member {staff_id}")
    check_version(if_match, member.version)
    values = data.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None:
            raise UnprocessableContent(f"{name} cannot be null", errors=[{"field": name, "message": "cannot be null"}])
    changed = {name: value for name, value in values.items() if getattr(member, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(member, name, value)
        member.version += 1
        await repo.flush()
        await repo.publish(staff_changed(member))
    return member
