"""Customer use cases: create, update, erase, read. Loads through the repository, applies the
rules of `domain`, records the event in the same transaction."""

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.customer import domain, events
from services.customer.dealers import dealer_for_write
from services.customer.models import Customer
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository
from services.customer.schemas import CustomerCreate, CustomerUpdate, CustomerUpsert
from shared.db import utcnow
from shared.etag import check_version
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Conflict, PreconditionFailed, UnprocessableContent


async def _refuse_duplicates(repo: CustomerRepository, dealer_code: str, phone: str | None,
                             external_id: str | None, *, own_id: uuid.UUID | None = None) -> None:
    if phone and (other := await repo.customer_with_phone(dealer_code, phone)) and other.id != own_id:
        raise Conflict("A customer of this dealer already has this phone", **_existing(repo, other),
                       errors=[{"field": "phone", "message": "already used by another customer"}])
    if external_id and (other := await repo.customer_with_external_id(dealer_code, external_id)) and other.id != own_id:
        raise Conflict("A customer of this dealer already has this external_id", **_existing(repo, other),
                       errors=[{"field": "external_id", "message": "already used by another customer"}])


def _existing(repo: CustomerRepository, other: Customer) -> dict[str, str]:
    """The clashing customer's id, unless the caller may not find that person by phone or
    name (above the dealer, a customer who does not share): a 409 is no search by phone."""
    shown = PiiView.of(repo.principal).shows_person(
        other.org_path, shares_with_manufacturer=other.consent_share_with_manufacturer)
    return {"existing_id": str(other.id)} if shown else {}


async def _flush(repo: CustomerRepository, write: Any) -> None:
    """A concurrent write can still win the unique race after our checks; that is a 409 too."""
    try:
        await write()
    except IntegrityError as exc:
        raise Conflict("Another customer of this dealer has the same phone or external_id") from exc


async def create_customer(repo: CustomerRepository, directory: OrgDirectory, data: CustomerCreate) -> Customer:
    dealer = await dealer_for_write(repo.principal, directory, data.dealer_code)
    return await _insert(repo, dealer, data.external_id, data.model_dump(exclude={"dealer_code", "external_id", "consent"}),
                         data.consent.model_dump())


async def _insert(repo: CustomerRepository, dealer: OrgInfo, external_id: str | None, values: dict[str, Any],
                  consent: dict[str, bool]) -> Customer:
    await _refuse_duplicates(repo, dealer.code, values.get("phone"), external_id)
    customer = Customer(dealer_code=dealer.code, org_path=dealer.path, external_id=external_id, version=1, **values,
                        **{f"consent_{key}": value for key, value in consent.items()})
    await _flush(repo, lambda: repo.add(customer))
    await repo.publish(events.customer_created(customer))
    return customer


async def upsert_customer(repo: CustomerRepository, directory: OrgDirectory, dealer_code: str, external_id: str,
                          data: CustomerUpsert, if_match: str | None) -> tuple[Customer, bool]:
    """Create or replace the dealer's customer known by `external_id`; True when created.

    If-Match is optional: without it the last writer wins, with it a stale ETag (or an ETag
    for a customer that does not exist yet) is a 412. A replace keeps the consent values the
    body leaves out, and one that changes nothing writes nothing and publishes nothing.
    """
    dealer = await directory.dealer_for(repo.principal, dealer_code, in_query=True)
    customer = await repo.customer_with_external_id(dealer.code, external_id)
    values = data.model_dump(exclude={"consent"})
    consent = {key: value for key, value in data.consent.model_dump().items() if value is not None}
    if customer is None:
        if if_match is not None:
            raise PreconditionFailed("No customer of this dealer has this external_id yet; send no If-Match to create it")
        return await _insert(repo, dealer, external_id, values, consent), True
    if if_match is not None:
        check_version(if_match, customer.version)
    if customer.erased_at is not None:
        raise Conflict("This customer was erased and can no longer be changed")
    values |= {f"consent_{key}": value for key, value in consent.items()}
    changed = {name: value for name, value in values.items() if getattr(customer, name) != value}
    if changed:
        await _refuse_duplicates(repo, customer.dealer_code, changed.get("phone"), None, own_id=customer.id)
        await _flush(repo, lambda: repo.update_customer(customer, changed))
        await repo.publish(events.customer_updated(customer))
    return customer, False


def _update_values(data: CustomerUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, exclude={"consent"})
    if "name" in values and values["name"] is None:
        raise UnprocessableContent("A customer keeps a name", errors=[{"field": "name", "message": "cannot be null"}])
    if data.consent is not None:
        for key, value in data.consent.model_dump(exclude_unset=True).items():
            if value is not None:
                values[f"consent_{key}"] = value
    return values


async def update_customer(repo: CustomerRepository, customer_id: uuid.UUID, data: CustomerUpdate,
                          if_match: str | None) -> Customer:
    customer = await repo.get_visible(Customer, customer_id)
    check_version(if_match, customer.version)
    if customer.erased_at is not None:
        raise Conflict("This customer was erased and can no longer be changed")
    values = _update_values(data)
    await _refuse_duplicates(repo, customer.dealer_code, values.get("phone"), values.get("external_id"), own_id=customer.id)
    await _flush(repo, lambda: repo.update_customer(customer, values))
    await repo.publish(events.customer_updated(customer))
    return customer


async def erase_customer(repo: CustomerRepository, customer_id: uuid.UUID) -> Customer:
    """Anonymise in place: the id and the non-personal facts stay, so statistics still add up.

    Erasing twice is harmless and publishes nothing the second time.
    """
    customer = await repo.get_visible(Customer, customer_id)
    if customer.erased_at is not None:
        return customer
    now = utcnow()
    await repo.update_customer(customer, domain.erased_values(now))
    for task in await repo.forget_customer_in_followups(customer.id, now):
        await repo.publish(events.followup_cancelled(task, now))
    await repo.forget_customer_in_vehicles(customer.id, now)
    await repo.forget_customer_in_interactions(customer.id, now)
    await repo.publish(events.customer_erased(customer))
    return customer
