"""What a webhook can subscribe to: the events of the shared catalogue that reach the gateway,
each with the JSON Schema of its `data` as a subscriber receives it."""

from typing import Any

from shared.contracts import customer as customer_contract
from shared.contracts import survey as survey_contract
from shared.contracts.events import CATALOGUE, EventKind
from shared.outbox import subscribers_for

# The families the relays send the gateway (cli/topology.py's gateway component; a test holds
# the two equal). Prospect and staff events stay between services.
DELIVERED_FAMILIES = ("customer.", "vehicle.", "service_visit.", "followup.", "interaction.", "appointment.", "lifecycle.",
                      "survey.", "complaint.", "quality.", "improvement.", "evaluation.", "campaign.",
                      "tech_request.", "bulletin.", "recall.")

# Events one system sends on to a person, each with the `data` field naming the org that sends
# it: a survey link (`url`) anyone holding it can answer goes only to the survey's owner (whose
# SMS provider sends it), never a dealer below it; a campaign message only to the campaign's
# owner, so the customer is not messaged by the dealer's DMS and the owner's SMS gateway both.
OWNER_ONLY_EVENTS: dict[str, str] = {
    survey_contract.INVITATION_SENT: "survey_org_path", survey_contract.INVITATION_REMINDED: "survey_org_path",
    customer_contract.CAMPAIGN_MESSAGE: "campaign_org_path",
}

# Events of a delivered family that stay between services: which responses survey integrity flagged
# and how they were reviewed would tell a dealer how to avoid the flags.
BETWEEN_SERVICES = frozenset({survey_contract.RESPONSE_FLAGGED, survey_contract.RESPONSE_REVIEWED})

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


WEBHOOK_EVENTS: tuple[EventKind, ...] = tuple(kind for kind in CATALOGUE if matching(kind.type, list(DELIVERED_FAMILIES))
                                               and kind.type not in BETWEEN_SERVICES)


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
