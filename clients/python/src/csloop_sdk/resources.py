"""One class per resource group, one method per operation.

Create bodies are keyword arguments named as the API's request schemas name their fields
(tests/sdk/test_drift.py keeps them so); update bodies are the fields to change. `None`
values are left out, so the server's defaults apply. Updates take the resource as last read
(or its `version`, or an ETag string) and send it as If-Match; a change made meanwhile raises
`PreconditionFailed`. `idempotency_key=` on a create names it yourself (one is generated
otherwise).
"""

from __future__ import annotations  # annotations name `list` below a method called `list`

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from csloop_sdk import models as m
from csloop_sdk.pagination import Pages, Parse
from csloop_sdk.transport import LONG_TIMEOUT, Transport

T = TypeVar("T", bound=BaseModel)


class Versioned(Protocol):
    version: int


Version = Versioned | Mapping[str, Any] | int | str


def if_match(resource: Version) -> dict[str, str]:
    """The If-Match header for `resource` as last read, its version number, or an ETag string."""
    if isinstance(resource, str):
        return {"If-Match": resource}
    if isinstance(resource, int):
        version = resource
    elif isinstance(resource, Mapping):
        version = resource["version"]
    else:
        version = resource.version
    return {"If-Match": f'"v{version}"'}


def _id(resource: Any, attribute: str = "id") -> str:
    """An id given as itself or as the resource carrying it."""
    if isinstance(resource, str):
        return resource
    return str(resource[attribute] if isinstance(resource, Mapping) else getattr(resource, attribute))


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _optional_if_match(resource: Version | None) -> dict[str, str]:
    """An upsert's If-Match: none (the last writer wins) unless the caller holds a version."""
    return {} if resource is None else if_match(resource)


def _customer_or_tombstone(item: dict[str, Any]) -> m.Customer | m.CustomerTombstone:
    return m.CustomerTombstone.model_validate(item) if item.get("deleted") else m.Customer.model_validate(item)


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _one(self, model: type[T], method: str, path: str, **kwargs: Any) -> T:
        return model.model_validate(self._t.json(method, path, **kwargs))

    def _pages(self, model: type[T] | Parse[T], path: str, page_size: int | None, **params: Any) -> Pages[T]:
        return Pages(self._t, path, model, params, page_size)

    def _import_rows(self, path: str, content: bytes | Iterable[bytes], dealer_code: str, jsonl: bool) -> m.ImportResult:
        """A bulk import: CSV or JSON Lines, streamed when `content` is an iterable."""
        headers = {"Content-Type": "application/x-ndjson" if jsonl else "text/csv"}
        return self._one(m.ImportResult, "POST", path, params={"dealer_code": dealer_code}, content=content,
                         headers=headers, timeout=LONG_TIMEOUT)


# Gateway: organisations, keys, users, login, OAuth clients, webhooks

class Orgs(Resource):
    def create(self, *, code: str, name: str, kind: str, parent_code: str, region: str | None = None,
               idempotency_key: str | None = None) -> m.Org:
        body = _body({"code": code, "name": name, "kind": kind, "parent_code": parent_code, "region": region})
        return self._one(m.Org, "POST", "/v1/orgs", json=body, idempotency_key=idempotency_key)

    def get(self, code: str) -> m.Org:
        return self._one(m.Org, "GET", f"/v1/orgs/{code}")

    def list(self, *, updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Org]:
        return self._pages(m.Org, "/v1/orgs", page_size, updated_since=updated_since)

    def networks(self, code: str) -> m.OrgNetworks:
        """A dealer's own networks (surveys answered from them are flagged `dealer_network`)."""
        return self._one(m.OrgNetworks, "GET", f"/v1/orgs/{code}/networks")

    def set_networks(self, code: str, cidrs: Iterable[str]) -> m.OrgNetworks:
        """Replaces a dealer's networks (IPv4/IPv6 CIDRs); only an org above the dealer may."""
        return self._one(m.OrgNetworks, "PUT", f"/v1/orgs/{code}/networks", json={"cidrs": list(cidrs)})


class ApiKeys(Resource):
    def create(self, *, org_code: str, name: str, scopes: Iterable[str], idempotency_key: str | None = None) -> m.ApiKeyCreated:
        body = {"org_code": org_code, "name": name, "scopes": list(scopes)}
        return self._one(m.ApiKeyCreated, "POST", "/v1/api-keys", json=body, idempotency_key=idempotency_key)

    def list(self, *, updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.ApiKey]:
        """With `updated_since`, the keys made or revoked since then, oldest change first."""
        return self._pages(m.ApiKey, "/v1/api-keys", page_size, updated_since=updated_since)

    def revoke(self, key: str | m.ApiKey | m.ApiKeyCreated) -> None:
        self._t.request("DELETE", f"/v1/api-keys/{_id(key)}")


class Users(Resource):
    def create(self, *, username: str, password: str, org_code: str, roles: Iterable[str] = (),
               scopes: Iterable[str] = (), staff_code: str | None = None, idempotency_key: str | None = None) -> m.User:
        """`staff_code`: the person's code in their dealer's staff (the desk shows their calls)."""
        body = _body({"username": username, "password": password, "org_code": org_code, "roles": list(roles),
                      "scopes": list(scopes), "staff_code": staff_code})
        return self._one(m.User, "POST", "/v1/users", json=body, idempotency_key=idempotency_key)

    def list(self, *, updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.User]:
        return self._pages(m.User, "/v1/users", page_size, updated_since=updated_since)

    def update(self, user: Version, user_id: str | None = None, *, staff_code: str | None) -> m.User:
        """Set the user's staff code (None clears it): the desk shows that person's calls."""
        return self._one(m.User, "PATCH", f"/v1/users/{user_id or _id(user)}", json={"staff_code": staff_code},
                         headers=if_match(user))


class Auth(Resource):
    def login(self, username: str, password: str) -> m.AccessToken:
        """A dashboard user's access token (use it as `api_key=` of another client), with who signed in."""
        return self._one(m.AccessToken, "POST", "/v1/auth/login", json={"username": username, "password": password})

    def token(self, client_id: str, client_secret: str, scope: str | None = None) -> m.OAuthToken:
        """A client-credentials token by hand; `ClientCredentials` does this for you."""
        form = _body({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
                      "scope": scope})
        return self._one(m.OAuthToken, "POST", "/v1/oauth/token", data=form)


class OAuthClients(Resource):
    def create(self, *, org_code: str, name: str, scopes: Iterable[str],
               idempotency_key: str | None = None) -> m.OAuthClientCreated:
        body = {"org_code": org_code, "name": name, "scopes": list(scopes)}
        return self._one(m.OAuthClientCreated, "POST", "/v1/oauth/clients", json=body, idempotency_key=idempotency_key)

    def get(self, client_id: str) -> m.OAuthClient:
        return self._one(m.OAuthClient, "GET", f"/v1/oauth/clients/{client_id}")

    def list(self, *, updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.OAuthClient]:
        return self._pages(m.OAuthClient, "/v1/oauth/clients", page_size, updated_since=updated_since)

    def revoke(self, client: str | m.OAuthClient | m.OAuthClientCreated) -> None:
        self._t.request("DELETE", f"/v1/oauth/clients/{_id(client, 'client_id')}")


class Webhooks(Resource):
    def create(self, *, url: str, event_types: Iterable[str], org_code: str,
               idempotency_key: str | None = None) -> m.WebhookCreated:
        body = {"url": url, "event_types": list(event_types), "org_code": org_code}
        return self._one(m.WebhookCreated, "POST", "/v1/webhooks", json=body, idempotency_key=idempotency_key)

    def get(self, webhook_id: str) -> m.Webhook:
        return self._one(m.Webhook, "GET", f"/v1/webhooks/{webhook_id}")

    def list(self, *, updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Webhook]:
        return self._pages(m.Webhook, "/v1/webhooks", page_size, updated_since=updated_since)

    def update(self, webhook: str | m.Webhook, *, url: str | None = None, event_types: Iterable[str] | None = None,
               enabled: bool | None = None) -> m.Webhook:
        """Change the URL or event types, or disable / re-enable (`enabled=True` after a 410 Gone disabled it)."""
        body = _body({"url": url, "event_types": None if event_types is None else list(event_types), "enabled": enabled})
        return self._one(m.Webhook, "PATCH", f"/v1/webhooks/{_id(webhook)}", json=body)

    def test(self, webhook: str | m.Webhook) -> m.WebhookTestResult:
        """Send a signed `webhook.ping` now; `delivered` says whether the target answered 2xx."""
        return self._one(m.WebhookTestResult, "POST", f"/v1/webhooks/{_id(webhook)}/test")

    def deliveries(self, webhook: str | m.Webhook, *, updated_since: datetime | str | None = None,
                   page_size: int | None = None) -> Pages[m.WebhookDelivery]:
        """With `updated_since`, the deliveries whose status or attempts changed since then (a sync of their outcome)."""
        return self._pages(m.WebhookDelivery, f"/v1/webhooks/{_id(webhook)}/deliveries", page_size,
                           updated_since=updated_since)

    def delete(self, webhook: str | m.Webhook) -> None:
        self._t.request("DELETE", f"/v1/webhooks/{_id(webhook)}")


class EventTypes(Resource):
    def list(self) -> list[m.EventType]:
        """Every event type a webhook can subscribe to, with the JSON Schema of its `data`."""
        return [m.EventType.model_validate(item) for item in self._t.json("GET", "/v1/event-types")["items"]]


# Customer service: customers, vehicles, deliveries, visits, prospects, follow-ups

class Customers(Resource):
    def create(self, *, name: str, dealer_code: str | None = None, external_id: str | None = None,
               phone: str | None = None, email: str | None = None, birth_date: date | str | None = None,
               city: str | None = None, consent: Mapping[str, bool] | m.Consent | None = None,
               idempotency_key: str | None = None) -> m.Customer:
        """`dealer_code` may be left out by a dealer's own key; `consent` is `{survey, marketing, share_with_manufacturer}`."""
        body = _body({"name": name, "dealer_code": dealer_code, "external_id": external_id, "phone": phone,
                      "email": email, "birth_date": birth_date, "city": city, "consent": consent})
        return self._one(m.Customer, "POST", "/v1/customers", json=body, idempotency_key=idempotency_key)

    def get(self, customer_id: str) -> m.Customer:
        return self._one(m.Customer, "GET", f"/v1/customers/{customer_id}")

    def view_360(self, customer: str | m.Customer) -> m.Customer360:
        """The customer with vehicles, visits, survey responses and complaints from every service."""
        return self._one(m.Customer360, "GET", f"/v1/customers/{_id(customer)}/360")

    def list(self, *, q: str | None = None, phone: str | None = None, vin: str | None = None,
             dealer_code: str | None = None, updated_since: datetime | str | None = None,
             lifecycle: str | None = None, segment: str | None = None,
             page_size: int | None = None) -> Pages[m.Customer | m.CustomerTombstone]:
        """With `updated_since`, the delta feed: changed customers oldest change first, an erased
        one as a `CustomerTombstone` (delete your copy). Without it, every item is a `Customer`.
        `lifecycle` (prospect, active, at_risk, lapsed, won_back) and `segment` (champion, loyal,
        new, at_risk, hibernating, regular) pick where customers stand with their dealer."""
        return self._pages(_customer_or_tombstone, "/v1/customers", page_size, q=q, phone=phone, vin=vin,
                           dealer_code=dealer_code, updated_since=updated_since, lifecycle=lifecycle, segment=segment)

    def upsert(self, dealer_code: str, external_id: str, *, name: str, phone: str | None = None,
               email: str | None = None, birth_date: date | str | None = None, city: str | None = None,
               consent: Mapping[str, bool] | m.Consent | None = None, if_match: Version | None = None) -> m.Customer:
        """Create or replace the dealer's customer `external_id` (the fields left out are cleared,
        except consent values, which keep what is stored). `if_match` (the customer as last read)
        makes a change made meanwhile raise `PreconditionFailed`."""
        body = _body({"name": name, "phone": phone, "email": email, "birth_date": birth_date, "city": city,
                      "consent": consent})
        path = f"/v1/customers/by-external-id/{dealer_code}/{quote(external_id, safe='')}"
        return self._one(m.Customer, "PUT", path, json=body, headers=_optional_if_match(if_match))

    def update(self, customer: Version, customer_id: str | None = None, **changes: Any) -> m.Customer:
        """Change fields (`None` leaves one as it is); `customer` as last read, or its version with `customer_id`."""
        return self._one(m.Customer, "PATCH", f"/v1/customers/{customer_id or _id(customer)}", json=_body(changes),
                         headers=if_match(customer))

    def erase(self, customer: str | m.Customer) -> m.Customer:
        """Erase the personal data (the record stays, anonymised)."""
        return self._one(m.Customer, "POST", f"/v1/customers/{_id(customer)}/erase")

    def import_rows(self, content: bytes | Iterable[bytes], dealer_code: str, *, jsonl: bool = False) -> m.ImportResult:
        """CSV (or JSON Lines) rows, streamed when `content` is an iterable; upserts by `external_id`."""
        return self._import_rows("/v1/customers/import", content, dealer_code, jsonl)


class Vehicles(Resource):
    def create(self, *, vin: str, model: str | None = None, model_year: int | None = None, plate: str | None = None,
               owner_customer_id: str | None = None, dealer_code: str | None = None,
               idempotency_key: str | None = None) -> m.Vehicle:
        body = _body({"vin": vin, "model": model, "model_year": model_year, "plate": plate,
                      "owner_customer_id": owner_customer_id, "dealer_code": dealer_code})
        return self._one(m.Vehicle, "POST", "/v1/vehicles", json=body, idempotency_key=idempotency_key)

    def get(self, vin: str) -> m.Vehicle:
        return self._one(m.Vehicle, "GET", f"/v1/vehicles/{vin}")

    def list(self, *, owner_customer_id: str | None = None, customer_id: str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Vehicle]:
        return self._pages(m.Vehicle, "/v1/vehicles", page_size, owner_customer_id=owner_customer_id,
                           customer_id=customer_id, updated_since=updated_since)

    def upsert(self, vin: str, *, dealer_code: str | None = None, model: str | None = None,
               model_year: int | None = None, plate: str | None = None, owner_customer_id: str | None = None,
               if_match: Version | None = None) -> m.Vehicle:
        """Create or replace a dealer's file of `vin` (fields left out are cleared); without
        `dealer_code`, the caller's own dealer's file (a dealer's key only)."""
        body = _body({"model": model, "model_year": model_year, "plate": plate, "owner_customer_id": owner_customer_id})
        path = f"/v1/vehicles/by-vin/{dealer_code}/{vin}" if dealer_code else f"/v1/vehicles/{vin}"
        return self._one(m.Vehicle, "PUT", path, json=body, headers=_optional_if_match(if_match))


    def import_rows(self, content: bytes | Iterable[bytes], dealer_code: str, *, jsonl: bool = False) -> m.ImportResult:
        """CSV (or JSON Lines) rows upserted by VIN: vin, model, model_year, plate, and the owner as
        owner_customer_id or owner_external_id."""
        return self._import_rows("/v1/vehicles/import", content, dealer_code, jsonl)


class Deliveries(Resource):
    def create(self, *, vin: str, customer_id: str, dealer_code: str, delivered_at: datetime | str,
               sales_consultant: str | None = None, idempotency_key: str | None = None) -> m.Delivery:
        """A car handed over: the customer service opens a new-car follow-up and an SSI invitation."""
        body = _body({"vin": vin, "customer_id": customer_id, "dealer_code": dealer_code, "delivered_at": delivered_at,
                      "sales_consultant": sales_consultant})
        return self._one(m.Delivery, "POST", "/v1/deliveries", json=body, idempotency_key=idempotency_key)

    def import_rows(self, content: bytes | Iterable[bytes], dealer_code: str, *, jsonl: bool = False) -> m.ImportResult:
        """CSV (or JSON Lines) rows upserted by VIN: vin, customer_id or customer_external_id,
        delivered_at, sales_consultant; only a new delivery invites the buyer to the SSI survey."""
        return self._import_rows("/v1/deliveries/import", content, dealer_code, jsonl)


class ServiceVisits(Resource):
    def create(self, *, ro_number: str, vin: str, customer_id: str, dealer_code: str, visit_type: str,
               opened_at: datetime | str | None = None, closed_at: datetime | str | None = None,
               symptom_codes: Iterable[str] = (), op_codes: Iterable[str] = (), mileage_km: int | None = None,
               amount_minor: int | None = None, advisor: str | None = None, technician: str | None = None,
               appointment_id: str | None = None, repeat_of_ro: str | None = None, repeat_cause: str | None = None,
               idempotency_key: str | None = None) -> m.ServiceVisit:
        """A repair order; `closed_at` closes it (which invites the customer to the CSI survey). A repeat
        visit names the RO whose fix failed (`repeat_of_ro`, any dealer's visit of the VIN) and why."""
        body = _body({"ro_number": ro_number, "vin": vin, "customer_id": customer_id, "dealer_code": dealer_code,
                      "visit_type": visit_type, "opened_at": opened_at, "closed_at": closed_at,
                      "symptom_codes": list(symptom_codes), "op_codes": list(op_codes), "mileage_km": mileage_km,
                      "amount_minor": amount_minor, "advisor": advisor, "technician": technician,
                      "appointment_id": appointment_id, "repeat_of_ro": repeat_of_ro, "repeat_cause": repeat_cause})
        return self._one(m.ServiceVisit, "POST", "/v1/service-visits", json=body, idempotency_key=idempotency_key)

    def get(self, visit_id: str) -> m.ServiceVisit:
        return self._one(m.ServiceVisit, "GET", f"/v1/service-visits/{visit_id}")

    def list(self, *, customer_id: str | None = None, vin: str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.ServiceVisit]:
        return self._pages(m.ServiceVisit, "/v1/service-visits", page_size, customer_id=customer_id, vin=vin,
                           updated_since=updated_since)

    def upsert(self, dealer_code: str, ro_number: str, *, vin: str, customer_id: str, visit_type: str,
               opened_at: datetime | str | None = None, closed_at: datetime | str | None = None,
               symptom_codes: Iterable[str] = (), op_codes: Iterable[str] = (), mileage_km: int | None = None,
               amount_minor: int | None = None, advisor: str | None = None, technician: str | None = None,
               appointment_id: str | None = None, repeat_of_ro: str | None = None, repeat_cause: str | None = None,
               if_match: Version | None = None) -> m.ServiceVisit:
        """Create or replace a repair order by its number (fields left out are cleared; a closed
        visit stays closed). A change to a closed visit sends `service_visit.updated`, no second survey."""
        body = _body({"vin": vin, "customer_id": customer_id, "visit_type": visit_type, "opened_at": opened_at,
                      "closed_at": closed_at, "symptom_codes": list(symptom_codes), "op_codes": list(op_codes),
                      "mileage_km": mileage_km, "amount_minor": amount_minor, "advisor": advisor,
                      "technician": technician, "appointment_id": appointment_id, "repeat_of_ro": repeat_of_ro,
                      "repeat_cause": repeat_cause})
        return self._one(m.ServiceVisit, "PUT", f"/v1/service-visits/by-ro/{dealer_code}/{quote(ro_number, safe='')}",
                         json=body, headers=_optional_if_match(if_match))

    def import_rows(self, content: bytes | Iterable[bytes], dealer_code: str, *, jsonl: bool = False) -> m.ImportResult:
        """CSV (or JSON Lines) repair orders upserted by ro_number (symptom_codes and op_codes
        `;`-separated in CSV); the customer as customer_id or customer_external_id."""
        return self._import_rows("/v1/service-visits/import", content, dealer_code, jsonl)

    def update(self, visit: Version, visit_id: str | None = None, **changes: Any) -> m.ServiceVisit:
        """E.g. close it: `update(visit, closed_at=...)`."""
        return self._one(m.ServiceVisit, "PATCH", f"/v1/service-visits/{visit_id or _id(visit)}", json=_body(changes),
                         headers=if_match(visit))


class Prospects(Resource):
    def create(self, *, name: str, level: str, dealer_code: str | None = None, phone: str | None = None,
               intended_model: str | None = None, source: str | None = None,
               idempotency_key: str | None = None) -> m.Prospect:
        """A sales lead; `level` is H, A, B or C."""
        body = _body({"name": name, "level": level, "dealer_code": dealer_code, "phone": phone,
                      "intended_model": intended_model, "source": source})
        return self._one(m.Prospect, "POST", "/v1/prospects", json=body, idempotency_key=idempotency_key)

    def get(self, prospect_id: str) -> m.Prospect:
        return self._one(m.Prospect, "GET", f"/v1/prospects/{prospect_id}")

    def update(self, prospect: Version, prospect_id: str | None = None, **changes: Any) -> m.Prospect:
        return self._one(m.Prospect, "PATCH", f"/v1/prospects/{prospect_id or _id(prospect)}", json=_body(changes),
                         headers=if_match(prospect))


class FollowUps(Resource):
    def get(self, followup_id: str) -> m.FollowUp:
        return self._one(m.FollowUp, "GET", f"/v1/follow-ups/{followup_id}")

    def list(self, *, dealer_code: str | None = None, status: str | None = None, kind: str | None = None,
             due_before: datetime | str | None = None, customer_id: str | None = None, assignee: str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.FollowUp]:
        """Earliest due first: `list(assignee="CR01", status="open", due_before=...)` is an agent's call list."""
        return self._pages(m.FollowUp, "/v1/follow-ups", page_size, dealer_code=dealer_code, status=status, kind=kind,
                           due_before=due_before, customer_id=customer_id, assignee=assignee,
                           updated_since=updated_since)

    def complete(self, followup: str | m.FollowUp, *, outcome: str, note: str | None = None) -> m.FollowUp:
        return self._one(m.FollowUp, "POST", f"/v1/follow-ups/{_id(followup)}/complete",
                         json=_body({"outcome": outcome, "note": note}))

    def assign(self, followup: str | m.FollowUp, *, assignee: str) -> m.FollowUp:
        return self._one(m.FollowUp, "POST", f"/v1/follow-ups/{_id(followup)}/assign", json={"assignee": assignee})

    def record_attempt(self, followup: str | m.FollowUp, *, reached: bool, channel: str,
                       satisfaction: str | None = None, issue_codes: list[str] | None = None, note: str | None = None,
                       agent: str | None = None) -> m.FollowUp:
        """A call (or SMS, WeChat message, visit) made for the follow-up; `satisfaction` when reached."""
        body = _body({"reached": reached, "channel": channel, "satisfaction": satisfaction, "issue_codes": issue_codes,
                      "note": note, "agent": agent})
        return self._one(m.FollowUp, "POST", f"/v1/follow-ups/{_id(followup)}/attempts", json=body)

    def attempts(self, followup: str | m.FollowUp) -> list[m.FollowUpAttempt]:
        items = self._t.json("GET", f"/v1/follow-ups/{_id(followup)}/attempts")["items"]
        return [m.FollowUpAttempt.model_validate(item) for item in items]


class DeskSettings(Resource):
    """A dealer's desk settings: default assignees per follow-up kind, maintenance follow-ups, max_attempts."""

    def get(self, dealer_code: str) -> m.DeskSettings:
        return self._one(m.DeskSettings, "GET", f"/v1/dealers/{dealer_code}/desk-settings")

    def put(self, dealer_code: str, *, version: Version, default_assignees: dict[str, str] | None = None,
            maintenance_followups: bool | None = None, max_attempts: int | None = None) -> m.DeskSettings:
        """Replaces them whole (fields left out take their defaults); `version` as last read (0 while unset)."""
        body = _body({"default_assignees": default_assignees, "maintenance_followups": maintenance_followups,
                      "max_attempts": max_attempts})
        return self._one(m.DeskSettings, "PUT", f"/v1/dealers/{dealer_code}/desk-settings", json=body,
                         headers=if_match(version))


class Interactions(Resource):
    """Contact history: every contact with a customer, a prospect or a caller known by phone."""

    def log(self, *, channel: str, direction: str, reason: str, started_at: datetime | str,
            dealer_code: str | None = None, customer_id: str | None = None, prospect_id: str | None = None,
            phone: str | None = None, summary: str | None = None, agent: str | None = None,
            duration_s: int | None = None, idempotency_key: str | None = None) -> m.Interaction:
        """Name exactly one of `customer_id`, `prospect_id` or `phone`."""
        body = _body({"channel": channel, "direction": direction, "reason": reason, "started_at": started_at,
                      "dealer_code": dealer_code, "customer_id": customer_id, "prospect_id": prospect_id,
                      "phone": phone, "summary": summary, "agent": agent, "duration_s": duration_s})
        return self._one(m.Interaction, "POST", "/v1/interactions", json=body, idempotency_key=idempotency_key)

    def get(self, interaction_id: str) -> m.Interaction:
        return self._one(m.Interaction, "GET", f"/v1/interactions/{interaction_id}")

    def list(self, *, customer_id: str | None = None, prospect_id: str | None = None, dealer_code: str | None = None,
             from_: datetime | str | None = None, to: datetime | str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Interaction]:
        return self._pages(m.Interaction, "/v1/interactions", page_size, customer_id=customer_id,
                           prospect_id=prospect_id, dealer_code=dealer_code, **{"from": from_}, to=to,
                           updated_since=updated_since)


class Lookup(Resource):
    def phone(self, phone: str) -> m.Lookup:
        """Screen pop: who is calling from `phone` (any format), with open follow-ups and last visit."""
        return self._one(m.Lookup, "GET", "/v1/lookup", params={"phone": phone})


class Appointments(Resource):
    """Service appointments: booked, then arrived, no-show or cancelled (a visit naming one marks it arrived)."""

    def create(self, *, customer_id: str, slot_at: datetime | str, dealer_code: str | None = None,
               vin: str | None = None, requested_at: datetime | str | None = None, service_type: str | None = None,
               advisor: str | None = None, idempotency_key: str | None = None) -> m.Appointment:
        """Book one; `requested_at` defaults to now, `advisor` is a staff code of the dealer."""
        body = _body({"customer_id": customer_id, "slot_at": slot_at, "dealer_code": dealer_code, "vin": vin,
                      "requested_at": requested_at, "service_type": service_type, "advisor": advisor})
        return self._one(m.Appointment, "POST", "/v1/appointments", json=body, idempotency_key=idempotency_key)

    def get(self, appointment_id: str) -> m.Appointment:
        return self._one(m.Appointment, "GET", f"/v1/appointments/{appointment_id}")

    def list(self, *, dealer_code: str | None = None, customer_id: str | None = None, status: str | None = None,
             slot_from: datetime | str | None = None, slot_to: datetime | str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Appointment]:
        return self._pages(m.Appointment, "/v1/appointments", page_size, dealer_code=dealer_code, customer_id=customer_id,
                           status=status, slot_from=slot_from, slot_to=slot_to, updated_since=updated_since)

    def update(self, appointment: Version, appointment_id: str | None = None, **changes: Any) -> m.Appointment:
        """Move a booked one: `update(appointment, slot_at=...)` (If-Match from the appointment)."""
        return self._one(m.Appointment, "PATCH", f"/v1/appointments/{appointment_id or _id(appointment)}",
                         json=_body(changes), headers=if_match(appointment))

    def set_status(self, appointment: str | m.Appointment, *, to: str) -> m.Appointment:
        """`arrived`, `no_show` or `cancelled`, from booked only; the status it has is a no-op."""
        return self._one(m.Appointment, "POST", f"/v1/appointments/{_id(appointment)}/status", json={"to": to})


class Staff(Resource):
    """A dealer's people, whom deliveries, visits and calls name by `code` (unique in the dealer)."""

    def create(self, *, code: str, name: str, role: str, dealer_code: str | None = None,
               idempotency_key: str | None = None) -> m.Staff:
        """`role`: service_advisor, sales_consultant, technician, cr_agent or manager."""
        body = _body({"code": code, "name": name, "role": role, "dealer_code": dealer_code})
        return self._one(m.Staff, "POST", "/v1/staff", json=body, idempotency_key=idempotency_key)

    def get(self, staff_id: str) -> m.Staff:
        return self._one(m.Staff, "GET", f"/v1/staff/{staff_id}")

    def list(self, *, dealer_code: str | None = None, role: str | None = None, active: bool | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Staff]:
        return self._pages(m.Staff, "/v1/staff", page_size, dealer_code=dealer_code, role=role,
                           active=None if active is None else str(active).lower(), updated_since=updated_since)

    def update(self, member: Version, staff_id: str | None = None, **changes: Any) -> m.Staff:
        """Rename, change the role, or retire: `update(member, active=False)` (a retired code stays
        on its records and takes no new ones)."""
        return self._one(m.Staff, "PATCH", f"/v1/staff/{staff_id or _id(member)}", json=_body(changes),
                         headers=if_match(member))



class Campaigns(Resource):
    """Care campaigns: an audience, a holdout drawn at launch, one `campaign.message` per sent customer."""

    def create(self, *, name: str, kind: str, channel: str, message: dict[str, str], org_code: str | None = None,
               audience: dict[str, Any] | None = None, holdout_pct: int | None = None,
               idempotency_key: str | None = None) -> m.Campaign:
        """A draft; `audience` takes lifecycle, segment, model, last_visit_before and birthday_month, and
        the answer's `audience_size` is how many customers it matches now."""
        body = _body({"name": name, "kind": kind, "channel": channel, "message": message, "org_code": org_code,
                      "audience": audience, "holdout_pct": holdout_pct})
        return self._one(m.Campaign, "POST", "/v1/campaigns", json=body, idempotency_key=idempotency_key)

    def get(self, campaign_id: str) -> m.Campaign:
        return self._one(m.Campaign, "GET", f"/v1/campaigns/{campaign_id}")

    def list(self, *, org_code: str | None = None, status: str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.Campaign]:
        return self._pages(m.Campaign, "/v1/campaigns", page_size, org_code=org_code, status=status,
                           updated_since=updated_since)

    def launch(self, campaign: str | m.Campaign) -> m.Campaign:
        """Send it (a launched campaign is answered as it is: nobody is messaged twice)."""
        return self._one(m.Campaign, "POST", f"/v1/campaigns/{_id(campaign)}/launch")

    def results(self, campaign: str | m.Campaign) -> m.CampaignResults:
        """Visits within 60 days of the launch per group, and the uplift in points (a draft: `Conflict`)."""
        return self._one(m.CampaignResults, "GET", f"/v1/campaigns/{_id(campaign)}/results")


class Retention(Resource):
    """Where an org's customers stand (issue 16): counts per lifecycle state and per value segment."""

    def get(self, org_code: str | None = None) -> m.Retention:
        """The org's subtree (yours by default); above the dealer only customers who share with the manufacturer."""
        return self._one(m.Retention, "GET", "/v1/retention", params=_body({"org_code": org_code}))


# Complaint service

class Complaints(Resource):
    def create(self, *, dealer_code: str, channel: str, category: str, priority: str, description: str,
               customer_id: str | None = None, vin: str | None = None, ro_number: str | None = None,
               survey_response_id: str | None = None, assignee: str | None = None, vehicle_model: str | None = None,
               symptom_codes: Iterable[str] = (), idempotency_key: str | None = None) -> m.Complaint:
        """Open a case; `priority` P1-P4 sets its SLA clock."""
        body = _body({"dealer_code": dealer_code, "channel": channel, "category": category, "priority": priority,
                      "description": description, "customer_id": customer_id, "vin": vin, "ro_number": ro_number,
                      "survey_response_id": survey_response_id, "assignee": assignee, "vehicle_model": vehicle_model,
                      "symptom_codes": list(symptom_codes)})
        return self._one(m.Complaint, "POST", "/v1/complaints", json=body, idempotency_key=idempotency_key)

    def get(self, complaint_id: str) -> m.Complaint:
        return self._one(m.Complaint, "GET", f"/v1/complaints/{complaint_id}")

    def list(self, *, status: str | None = None, dealer_code: str | None = None, breached: bool | None = None,
             category: str | None = None, customer_id: str | None = None, updated_since: datetime | str | None = None,
             page_size: int | None = None) -> Pages[m.Complaint]:
        """With `updated_since`, the delta feed: cases changed since, oldest change first."""
        return self._pages(m.Complaint, "/v1/complaints", page_size, status=status, dealer_code=dealer_code,
                           breached=breached, category=category, customer_id=customer_id, updated_since=updated_since)

    def assign(self, complaint: m.Complaint, assignee: str) -> m.Complaint:
        return self._change(complaint, "PATCH", "", {"assignee": assignee})

    def transition(self, complaint: m.Complaint, to: str, note: str | None = None) -> m.Complaint:
        """Move the case; an illegal move is a `Conflict` listing the allowed ones."""
        return self._change(complaint, "POST", "/transitions", _body({"to": to, "note": note}))

    def comment(self, complaint: m.Complaint, text: str) -> m.Complaint:
        return self._change(complaint, "POST", "/comments", {"text": text})

    def escalate(self, complaint: m.Complaint, reason: str) -> m.Complaint:
        return self._change(complaint, "POST", "/escalate", {"reason": reason})

    def resolve(self, complaint: m.Complaint, *, summary: str, root_cause: Mapping[str, Any] | None = None,
                actions: Iterable[str] = (), compensation_minor: int | None = None,
                corrective_action: Mapping[str, Any] | None = None, customer_agrees: bool | None = None) -> m.Complaint:
        """Record the resolution; `root_cause` is `{category, text}`, `compensation_minor` in fen."""
        body = _body({"summary": summary, "root_cause": root_cause, "actions": list(actions),
                      "compensation_minor": compensation_minor, "corrective_action": corrective_action,
                      "customer_agrees": customer_agrees})
        return self._change(complaint, "PUT", "/resolution", body)

    def _change(self, complaint: m.Complaint, method: str, suffix: str, body: dict[str, Any]) -> m.Complaint:
        # These changes are safe to retry: the If-Match makes a repeat a 412, never a second change.
        return self._one(m.Complaint, method, f"/v1/complaints/{complaint.id}{suffix}", json=body,
                         headers=if_match(complaint))


class TechRequests(Resource):
    def create(self, *, dealer_code: str, vin: str, description: str, priority: str, symptom_codes: Iterable[str] = (),
               idempotency_key: str | None = None) -> m.TechRequest:
        """Ask the technical teams above the dealer; `answer_due` follows the priority's answer SLA."""
        body = {"dealer_code": dealer_code, "vin": vin, "symptom_codes": list(symptom_codes),
                "description": description, "priority": priority}
        return self._one(m.TechRequest, "POST", "/v1/tech-requests", json=body, idempotency_key=idempotency_key)

    def get(self, tech_request_id: str) -> m.TechRequest:
        """With its timeline (opened, answered, escalated, breached, closed)."""
        return self._one(m.TechRequest, "GET", f"/v1/tech-requests/{tech_request_id}")

    def list(self, *, status: str | None = None, dealer_code: str | None = None,
             page_size: int | None = None) -> Pages[m.TechRequest]:
        return self._pages(m.TechRequest, "/v1/tech-requests", page_size, status=status, dealer_code=dealer_code)

    def answer(self, request: m.TechRequest, body: str) -> m.TechRequest:
        """The handling team's answer (or a team above it's)."""
        return self._change(request, "/answers", {"body": body})

    def escalate(self, request: m.TechRequest, reason: str) -> m.TechRequest:
        """To the next technical team up, with a new `answer_due`."""
        return self._change(request, "/escalate", {"reason": reason})

    def close(self, request: m.TechRequest) -> m.TechRequest:
        """The dealer that asked closes its answered request."""
        return self._change(request, "/close", None)

    def _change(self, request: m.TechRequest, suffix: str, body: dict[str, Any] | None) -> m.TechRequest:
        # Safe to retry: the If-Match makes a repeat a 412, never a second answer.
        return self._one(m.TechRequest, "POST", f"/v1/tech-requests/{request.id}{suffix}", json=body,
                         headers=if_match(request))


class SlaPolicies(Resource):
    def get(self, dealer_code: str | None = None) -> m.SlaPolicies:
        return self._one(m.SlaPolicies, "GET", "/v1/complaint-sla-policies", params={"dealer_code": dealer_code})

    def put(self, policies: list[dict[str, Any]], dealer_code: str | None = None) -> m.SlaPolicies:
        body = _body({"policies": policies, "dealer_code": dealer_code})
        return self._one(m.SlaPolicies, "PUT", "/v1/complaint-sla-policies", json=body)


class QualitySignals(Resource):
    def list(self, *, page_size: int | None = None) -> Pages[m.QualitySignal]:
        return self._pages(m.QualitySignal, "/v1/quality-signals", page_size)


class Bulletins(Resource):
    def publish(self, *, title: str, body: str, models: Iterable[str] = (), symptom_codes: Iterable[str] = (),
                signal_id: str | None = None, idempotency_key: str | None = None) -> m.Bulletin:
        """A countermeasure bulletin to every dealer of your subtree (manufacturer or distributor)."""
        payload = _body({"title": title, "body": body, "models": list(models), "symptom_codes": list(symptom_codes),
                         "signal_id": signal_id})
        return self._one(m.Bulletin, "POST", "/v1/bulletins", json=payload, idempotency_key=idempotency_key)

    def list(self, *, unacknowledged: bool | None = None, page_size: int | None = None) -> Pages[m.Bulletin]:
        return self._pages(m.Bulletin, "/v1/bulletins", page_size, unacknowledged=unacknowledged)

    def get(self, bulletin_id: str) -> m.Bulletin:
        return self._one(m.Bulletin, "GET", f"/v1/bulletins/{bulletin_id}")

    def ack(self, bulletin_id: str) -> m.BulletinAck:
        """Acknowledge for your dealership (once: again is a Conflict)."""
        return self._one(m.BulletinAck, "POST", f"/v1/bulletins/{bulletin_id}/ack")

    def acks(self, bulletin_id: str) -> m.BulletinAcks:
        return self._one(m.BulletinAcks, "GET", f"/v1/bulletins/{bulletin_id}/acks")


class Recalls(Resource):
    def create(self, *, code: str, title: str, remedy_op_code: str, vins: Iterable[str] = (),
               idempotency_key: str | None = None) -> m.Recall:
        body = _body({"code": code, "title": title, "remedy_op_code": remedy_op_code, "vins": list(vins)})
        return self._one(m.Recall, "POST", "/v1/recalls", json=body, idempotency_key=idempotency_key)

    def list(self, org_code: str | None = None, *, page_size: int | None = None) -> Pages[m.RecallSummary]:
        """The recalls of `org_code`'s subtree (default: yours): issued by it, or listing a VIN of it, each
        with that subtree's figures."""
        return self._pages(m.RecallSummary, "/v1/recalls", page_size, org_code=org_code)

    def import_vins(self, code: str, content: bytes, *, jsonl: bool = False) -> m.RecallImport:
        """Affected VINs as CSV (first column) or JSON Lines (`{"vin": ...}`); VINs already listed are skipped."""
        headers = {"Content-Type": "application/x-ndjson" if jsonl else "text/csv"}
        return self._one(m.RecallImport, "POST", f"/v1/recalls/{code}/vins/import", content=content, headers=headers,
                         timeout=LONG_TIMEOUT)

    def progress(self, code: str, org_code: str | None = None) -> m.RecallProgress:
        return self._one(m.RecallProgress, "GET", f"/v1/recalls/{code}/progress", params={"org_code": org_code})


# KPI service

class Kpi(Resource):
    def summary(self, org_code: str, period: str) -> m.KpiSummary:
        """Every KPI of one organisation for a period (`YYYY`, `YYYY-Qn` or `YYYY-MM`)."""
        return self._one(m.KpiSummary, "GET", "/v1/kpi/summary", params={"org_code": org_code, "period": period})

    def rankings(self, *, kpi: str, period: str, level: str | None = None, org_code: str | None = None) -> m.KpiRankings:
        params = {"kpi": kpi, "period": period, "level": level, "org_code": org_code}
        return self._one(m.KpiRankings, "GET", "/v1/kpi/rankings", params=params)

    def trends(self, *, kpi: str, from_: str, to: str, org_code: str | None = None) -> m.KpiTrend:
        params = {"kpi": kpi, "from": from_, "to": to, "org_code": org_code}
        return self._one(m.KpiTrend, "GET", "/v1/kpi/trends", params=params)

    def drivers(self, *, kind: str, period: str, org_code: str | None = None) -> m.KpiDrivers:
        params = {"kind": kind, "period": period, "org_code": org_code}
        return self._one(m.KpiDrivers, "GET", "/v1/kpi/drivers", params=params)

    def complaints(self, *, period: str, org_code: str | None = None) -> m.ComplaintCounts:
        return self._one(m.ComplaintCounts, "GET", "/v1/kpi/complaints", params={"period": period, "org_code": org_code})

    def fir_held_out(self, *, period: str, org_code: str | None = None) -> m.FirHeldOut:
        return self._one(m.FirHeldOut, "GET", "/v1/kpi/fir-held-out", params={"period": period, "org_code": org_code})

    def fir_causes(self, *, period: str, org_code: str | None = None) -> m.FirCauses:
        """The FIR failures of the org's fixes in the period by the cause the repeat visit recorded."""
        return self._one(m.FirCauses, "GET", "/v1/kpi/fir-causes", params={"period": period, "org_code": org_code})

    def people(self, *, kpi: str, period: str, role: str | None = None, org_code: str | None = None) -> m.KpiPeople:
        """One KPI per staff member and role, ranked among the same role (`rank` None below the minimum n)."""
        params = {"kpi": kpi, "period": period, "role": role, "org_code": org_code}
        return self._one(m.KpiPeople, "GET", "/v1/kpi/people", params=params)

    def departments(self, *, kpi: str, period: str, org_code: str | None = None) -> m.KpiDepartments:
        """One KPI per dealer and department (service, sales, cr)."""
        params = {"kpi": kpi, "period": period, "org_code": org_code}
        return self._one(m.KpiDepartments, "GET", "/v1/kpi/departments", params=params)

    def set_target(self, *, org_code: str, kpi: str, period: str, target: float) -> m.KpiTarget:
        body = {"org_code": org_code, "kpi": kpi, "period": period, "target": target}
        return self._one(m.KpiTarget, "PUT", "/v1/kpi/targets", json=body)



class ImprovementPlans(Resource):
    """Improvement plans (PDCA): actions with owners and due dates, plan -> do -> check -> act | closed."""

    def create(self, *, org_code: str, kpi: str, period: str, baseline: float, target: float, recheck_period: str,
               cause: str, source: Mapping[str, Any], actions: Iterable[Mapping[str, Any]] = (),
               idempotency_key: str | None = None) -> m.ImprovementPlan:
        """`source` is `{kind: kpi_gap|driver|complaint, ref}`; each action `{description, owner, due}`, or
        `{complaint_id}` to take that complaint's corrective action. A dealer's plan names staff codes as owners."""
        body = {"org_code": org_code, "kpi": kpi, "period": period, "baseline": baseline, "target": target,
                "recheck_period": recheck_period, "cause": cause, "source": dict(source),
                "actions": [dict(action) for action in actions]}
        return self._one(m.ImprovementPlan, "POST", "/v1/improvement-plans", json=body, idempotency_key=idempotency_key)

    def get(self, plan_id: str) -> m.ImprovementPlan:
        return self._one(m.ImprovementPlan, "GET", f"/v1/improvement-plans/{plan_id}")

    def list(self, *, org_code: str | None = None, status: str | None = None, overdue: bool | None = None,
             page_size: int | None = None) -> Pages[m.ImprovementPlan]:
        """The plans of an org and of every org below it; `overdue=True`: those with an action past due."""
        return self._pages(m.ImprovementPlan, "/v1/improvement-plans", page_size, org_code=org_code, status=status,
                           overdue=None if overdue is None else str(overdue).lower())

    def transition(self, plan: m.ImprovementPlan | str, to: str) -> m.ImprovementPlan:
        """Move the plan; an illegal move is a `Conflict` listing the allowed ones."""
        return self._one(m.ImprovementPlan, "POST", f"/v1/improvement-plans/{_id(plan)}/transitions", json={"to": to})

    def done(self, plan: m.ImprovementPlan | str, index: int) -> m.ImprovementPlan:
        """Mark the action at `index` (from 0) done; done again changes nothing."""
        return self._one(m.ImprovementPlan, "POST", f"/v1/improvement-plans/{_id(plan)}/actions/{index}/done")


class Evaluations(Resource):
    """Dealer evaluation: the manufacturer's schemes, evaluations ranked over its network, publishing."""

    def schemes(self) -> list[m.EvaluationScheme]:
        """The newest version of each scheme you may read."""
        return [m.EvaluationScheme.model_validate(item) for item in self._t.json("GET", "/v1/evaluation-schemes")["items"]]

    def scheme(self, code: str) -> m.EvaluationScheme:
        return self._one(m.EvaluationScheme, "GET", f"/v1/evaluation-schemes/{code}")

    def put_scheme(self, code: str, *, title: str, elements: list[Any], tiers: list[Any],
                   scheme: Version | None = None) -> m.EvaluationScheme:
        """The scheme's next version (manufacturer only); with `scheme` (as read, or its version), only over it."""
        body = {"title": title, "elements": elements, "tiers": tiers}
        return self._one(m.EvaluationScheme, "PUT", f"/v1/evaluation-schemes/{code}", json=body,
                         headers=_optional_if_match(scheme))

    def get(self, *, scheme: str, period: str, org_code: str | None = None, level: str | None = None) -> m.DealerEvaluation:
        """Frozen once published (`published_at`), else computed from the current figures."""
        params = {"scheme": scheme, "period": period, "org_code": org_code, "level": level}
        return self._one(m.DealerEvaluation, "GET", "/v1/evaluations", params=params)

    def publish(self, scheme: str, period: str, *, level: str | None = None) -> m.DealerEvaluation:
        """Freeze the evaluation of the period (manufacturer only; a second publish is a Conflict)."""
        return self._one(m.DealerEvaluation, "POST", f"/v1/evaluations/{scheme}/{period}/publish", params={"level": level})


# Survey service

class Surveys(Resource):
    def templates(self) -> list[m.SurveyTemplate]:
        body = self._t.json("GET", "/v1/survey-templates")
        return [m.SurveyTemplate.model_validate(item) for item in body]

    def create(self, *, template: str | None = None, code: str | None = None, kind: str | None = None,
               title: Mapping[str, str] | None = None, factors: list[Any] | None = None,
               questions: list[Any] | None = None, alert_rules: Mapping[str, Any] | m.AlertRules | None = None,
               expected_seconds: int | None = None, idempotency_key: str | None = None) -> m.Survey:
        """From a `template` (csi, ssi, nps...), whose parts the other fields override, or defined whole.
        `expected_seconds`: how long an honest answer takes (survey integrity's speeder rule)."""
        body = _body({"template": template, "code": code, "kind": kind, "title": title, "factors": factors,
                      "questions": questions, "alert_rules": alert_rules, "expected_seconds": expected_seconds})
        return self._one(m.Survey, "POST", "/v1/surveys", json=body, idempotency_key=idempotency_key)

    def get(self, survey_id: str) -> m.Survey:
        return self._one(m.Survey, "GET", f"/v1/surveys/{survey_id}")

    def list(self, *, kind: str | None = None, updated_since: datetime | str | None = None,
             page_size: int | None = None) -> Pages[m.Survey]:
        """With `updated_since`, the delta feed: surveys changed since, oldest change first."""
        return self._pages(m.Survey, "/v1/surveys", page_size, kind=kind, updated_since=updated_since)

    def update(self, survey: Version, survey_id: str | None = None, **changes: Any) -> m.Survey:
        return self._one(m.Survey, "PATCH", f"/v1/surveys/{survey_id or _id(survey)}", json=_body(changes),
                         headers=if_match(survey))

    def publish(self, survey: str | m.Survey) -> m.SurveyVersion:
        return self._one(m.SurveyVersion, "POST", f"/v1/surveys/{_id(survey)}/publish")

    def version(self, survey: str | m.Survey, number: int) -> m.SurveyVersion:
        return self._one(m.SurveyVersion, "GET", f"/v1/surveys/{_id(survey)}/versions/{number}")


class Invitations(Resource):
    def create(self, *, survey_id: str, customer_id: str, dealer_code: str, channel: str,
               context: Mapping[str, str | None] | None = None, consent_confirmed: bool | None = None,
               expires_in_days: int | None = None, idempotency_key: str | None = None) -> m.InvitationCreated:
        body = _body({"survey_id": survey_id, "customer_id": customer_id, "dealer_code": dealer_code,
                      "channel": channel, "context": context, "consent_confirmed": consent_confirmed,
                      "expires_in_days": expires_in_days})
        return self._one(m.InvitationCreated, "POST", "/v1/survey-invitations", json=body,
                         idempotency_key=idempotency_key)

    def get(self, invitation_id: str) -> m.Invitation:
        return self._one(m.Invitation, "GET", f"/v1/survey-invitations/{invitation_id}")

    def list(self, *, survey_id: str | None = None, dealer_code: str | None = None, customer_id: str | None = None,
             status: str | None = None, updated_since: datetime | str | None = None,
             page_size: int | None = None) -> Pages[m.Invitation]:
        """With `updated_since`, the delta feed: invitations changed since, oldest change first."""
        return self._pages(m.Invitation, "/v1/survey-invitations", page_size, survey_id=survey_id,
                           dealer_code=dealer_code, customer_id=customer_id, status=status, updated_since=updated_since)


class Responses(Resource):
    def get(self, response_id: str) -> m.SurveyResponse:
        return self._one(m.SurveyResponse, "GET", f"/v1/survey-responses/{response_id}")

    def list(self, *, survey_id: str | None = None, dealer_code: str | None = None, customer_id: str | None = None,
             kind: str | None = None, from_: datetime | str | None = None, to: datetime | str | None = None,
             updated_since: datetime | str | None = None, page_size: int | None = None) -> Pages[m.SurveyResponse]:
        """With `updated_since`, the delta feed: responses changed since (an erasure blanks one), oldest change first."""
        return self._pages(m.SurveyResponse, "/v1/survey-responses", page_size, survey_id=survey_id,
                           dealer_code=dealer_code, customer_id=customer_id, kind=kind, **{"from": from_}, to=to,
                           updated_since=updated_since)

    def export_csv(self, *, survey_id: str | None = None, dealer_code: str | None = None,
                   customer_id: str | None = None, kind: str | None = None, from_: datetime | str | None = None,
                   to: datetime | str | None = None) -> bytes:
        params = {"survey_id": survey_id, "dealer_code": dealer_code, "customer_id": customer_id, "kind": kind,
                  "from": from_, "to": to}
        return self._t.request("GET", "/v1/survey-responses/export.csv", params=params, timeout=LONG_TIMEOUT).content

    def import_results(self, survey_id: str, responses: list[dict[str, Any]]) -> m.ResponseImportResult:
        """Third-party results (at most 5,000 a call)."""
        return self._one(m.ResponseImportResult, "POST", "/v1/survey-responses/import",
                         json={"survey_id": survey_id, "responses": responses}, timeout=LONG_TIMEOUT)


class SurveyIntegrity(Resource):
    """Survey integrity (issue 17): flagged responses, their review, the rules and each dealer's record."""

    def review(self, response_id: str, decision: str, note: str | None = None) -> m.SurveyResponse:
        """`valid` (into the KPIs) or `invalid` (out): the manufacturer or a distributor above the dealer."""
        return self._one(m.SurveyResponse, "POST", f"/v1/survey-responses/{response_id}/review",
                         json={"decision": decision, "note": note})

    def rules(self, org_code: str) -> m.IntegrityRules:
        """The rules in force in an organisation (the nearest organisation's, else the defaults)."""
        return self._one(m.IntegrityRules, "GET", "/v1/survey-integrity/rules", params={"org_code": org_code})

    def set_rules(self, org_code: str, flags: dict[str, Any] | None = None) -> m.IntegrityRules:
        """`flags`: `{speeder: {on, min_share}, ...}`; a flag left out (or all of them) keeps its defaults."""
        return self._one(m.IntegrityRules, "PUT", "/v1/survey-integrity/rules",
                         json=_body({"org_code": org_code, "flags": flags}))

    def report(self, org_code: str, period: str) -> m.IntegrityReport:
        """Per dealer, for a month (`YYYY-MM`): responses, flagged, invalid, valid, by flag."""
        return self._one(m.IntegrityReport, "GET", "/v1/survey-integrity",
                         params={"org_code": org_code, "period": period})

    def export_flagged_csv(self, org_code: str, period: str) -> bytes:
        return self._t.request("GET", "/v1/survey-integrity/flagged.csv", params={"org_code": org_code, "period": period},
                               timeout=LONG_TIMEOUT).content


class PublicSurveys(Resource):
    """What a customer's survey page does with an invitation's token (no credentials needed)."""

    def get(self, token: str) -> m.PublicSurvey:
        return self._one(m.PublicSurvey, "GET", f"/v1/public/surveys/{token}")

    def answer(self, token: str, answers: dict[str, Any]) -> m.PublicResponse:
        return self._one(m.PublicResponse, "POST", f"/v1/public/surveys/{token}/responses", json={"answers": answers})
