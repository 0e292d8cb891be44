"""GET /v1/event-types: every event a webhook can subscribe to, from the one catalogue in
shared/contracts, with the JSON Schema of its data as a subscriber receives it."""

import uuid
from datetime import UTC, datetime

import httpx
import jsonschema
import pytest

from cli.topology import COMPONENTS
from gateway.integrations.webhooks.catalogue import (
    BETWEEN_SERVICES,
    DELIVERED_FAMILIES,
    SUBSCRIBABLE,
    WEBHOOK_EVENTS,
    data_schema,
)
from shared.contracts import complaint, customer, kpi, survey
from shared.contracts.events import CATALOGUE
from tests.gateway.conftest import OrgTree, bearer


def contract_event_types() -> set[str]:
    """Every event type a contract module names (its upper-case constants with a dot, not SOURCE)."""
    return {value for module in (customer, survey, complaint, kpi) for name, value in vars(module).items()
            if name.isupper() and name != "SOURCE" and isinstance(value, str) and "." in value}


def test_the_catalogue_names_every_contract_event_once() -> None:
    types = [kind.type for kind in CATALOGUE]
    assert len(types) == len(set(types))
    assert set(types) == contract_event_types()


def test_webhooks_offer_exactly_what_the_relays_send_the_gateway() -> None:
    [gateway] = [component for component in COMPONENTS if component.name == "gateway"]
    assert set(gateway.consumes) == set(DELIVERED_FAMILIES)


async def test_lists_each_deliverable_type_with_the_schema_of_its_data(gateway: httpx.AsyncClient, net: OrgTree) -> None:
    assert (await gateway.get("/v1/event-types")).status_code == 401
    reader = await net.key_for("dlr11", ["customers:read"])
    answer = await gateway.get("/v1/event-types", headers=bearer(reader))
    assert answer.status_code == 200, answer.text
    by_type = {item["type"]: item for item in answer.json()["items"]}
    assert set(by_type) == {t for t in contract_event_types() if not t.startswith(("prospect.", "staff.")) and t not in BETWEEN_SERVICES}
    assert set(by_type) <= set(SUBSCRIBABLE)
    assert by_type["survey.invitation.sent"]["owner_only"] is True
    assert by_type["complaint.opened"]["owner_only"] is False
    assert by_type["customer.created"]["source"] == "/csloop/customer"
    # The schema of what is delivered: the field kept between services is not in it.
    visit = by_type["service_visit.closed"]["data_schema"]
    assert "owner_verified" not in visit["properties"] and "ro_number" in visit["required"]
    erased = {"dealer_code": "D1", "org_path": "/M/D1/", "customer_id": str(uuid.uuid4()),
              "erased_at": datetime.now(UTC).isoformat()}
    jsonschema.validate(erased, by_type["customer.erased"]["data_schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"dealer_code": "D1"}, by_type["customer.erased"]["data_schema"])


def test_the_desks_events_are_webhooks_for_the_dms() -> None:
    """Issue 14 item 7, by name: the rule above (every delivered family but what stays between
    services) would also pass with one of them moved out of reach."""
    desk = {customer.FOLLOWUP_ASSIGNED, customer.FOLLOWUP_COMPLETED, customer.FOLLOWUP_UNREACHABLE,
            customer.FOLLOWUP_ISSUE_FOUND, customer.INTERACTION_LOGGED, customer.APPOINTMENT_CHANGED}
    assert desk <= {kind.type for kind in WEBHOOK_EVENTS}
    assert desk <= set(SUBSCRIBABLE) and {"followup.", "interaction.", "appointment."} <= set(SUBSCRIBABLE)
    completed = next(kind for kind in WEBHOOK_EVENTS if kind.type == customer.FOLLOWUP_COMPLETED)
    assert {"reached", "satisfaction", "issue_codes", "assignee"} <= set(data_schema(completed)["properties"])


def test_integrity_events_stay_between_services() -> None:
    """Which responses were flagged, and how reviews went, would teach a dealer to dodge the flags."""
    from gateway.integrations.webhooks.subscriptions import receiving_paths
    from shared.events import new_event

    for type_ in BETWEEN_SERVICES:
        event = new_event(survey.SOURCE, type_, None, {"org_path": "/M/N/D1/"})
        assert receiving_paths(event, "/M/N/D1/") == []
    submitted = new_event(survey.SOURCE, survey.RESPONSE_SUBMITTED, None, {"org_path": "/M/N/D1/"})
    assert "/M/N/D1/" in receiving_paths(submitted, "/M/N/D1/")
