"""What a webhook can subscribe to: the events of the shared catalogue that reach the gateway,
each with the JSON Schema of its `data` as a subscriber receives it."""

from typing import Any

from shared.contracts import customer as customer_contract
from shared.contracts import survey as survey_contract
from shared.contracts.events import CATALOGUE, EventKind
from shared.outbox import subscribers_for

# The families the relays send the gateway (cli/topology.py's gateway component; a test holds
# the two equal). Prospect and staff events stay between services.
DELIVERED_FAMILIES = ("customer.", "vehicle.", "service_visit.", "followup.", "interaction.", "appointment.",
                      "survey.", "complaint.", "quality.", "improvement.", "evaluation.", "tech_request.")

# Events carrying a survey link (`url`) anyone holding it can answer: only the survey's owner
# (`data.survey_org_path`, whose SMS provider sends it) receives them, never a dealer below it.
OWNER_ONLY_EVENTS = frozenset({survey_contract.INVITATION_SENT, survey_contract.INVITATION_REMINDED})

# Fields that services need between them but an integrator must not see. `owner_verified` says
# whether the visit's customer has the phone of the VIN's owner on another dealer's file (KPI.md
# fir): to the visiting dealer's DMS it would be an oracle on that other dealer's records.
INTERNAL_FIELDS: dict[str, frozenset[str]] = {
    customer_contract.SERVICE_VISIT_CLOSED: frozenset({"owner_verified"}),
    customer_contract.SERVICE_VISIT_UPDATED: frozenset({"owner_verified"}),
}


def matching(event_type: str, patterns: list[str]) -> list[str]:
    """The patterns (`customer.created`, a family `customer.`, or `*`) that take this type."""
    return subscribers_for(event_type, {pattern: [pattern] for pattern in patterns})


WEBHOOK_EVENTS: tuple[EventKind, ...] = tuple(kind for kind in CATALOGUE if matching(kind.type, list(DELIVERED_FAMILIES)))


def _families(event_type: str) -> list[str]:
    """`survey.invitation.sent` -> `survey.`, `survey.invitation.`."""
    parts = event_type.split(".")
    return [".".join(parts[:end]) + "." for end in range(1, len(parts))]


# Every pattern a subscription may hold: one that matches no deliverable event is a mistake.
SUBSCRIBABLE: tuple[str, ...] = ("*", *sorted(
    {kind.type for kind in WEBHOOK_EVENTS} | {family for kind in WEBHOOK_EVENTS for family in _families(kind.type)}))


def data_schema(kind: EventKind) -> dict[str, Any]:
    """JSON Schema of the event's `data` as delivered: without the fields kept between services."""
    schema = kind.data.model_json_schema(mode="serialization")
    hidden = INTERNAL_FIELDS.get(kind.type, frozenset())
    schema["properties"] = {name: value for name, value in schema.get("properties", {}).items() if name not in hidden}
    if "required" in schema:
        schema["required"] = [name for name in schema["required"] if name not in hidden]
    return schema
