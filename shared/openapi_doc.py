"""The OpenAPI document as an integrator's tools read it: one error shape, short operation ids,
and the conventions (auth, paging, idempotency, ETags, rate limits, events) written down.

Each app (every service and the gateway) shapes its own document with `install_openapi`; the
gateway's merged document (gateway/edge/openapi.py) then gets what only the whole API knows:
the description, the tags, the errors any request may meet, and the header fields.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from shared.problems import PROBLEM_MEDIA_TYPE, ProblemDetails

PROBLEM_REF = "#/components/schemas/ProblemDetails"
# FastAPI's own 422 shape: replaced by the problem every error really is.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
METHODS = ("get", "put", "post", "patch", "delete")

API_DESCRIPTION = """\
CSLoop's public API: customers, vehicles and service visits, surveys, complaints and KPIs of a
manufacturer's dealer network. Every path is served by the gateway; this document is the contract.

## Authentication and scopes
Send `Authorization: Bearer <credential>`, one of:
- an **API key** (`csk_...`, made with `POST /v1/api-keys`), for scripts and DMS integrations;
- an **OAuth2 access token** from `POST /v1/oauth/token` (client credentials grant, with a
  client registered by `POST /v1/oauth/clients`), for systems that rotate short-lived tokens;
- a **user's access token** from `POST /v1/auth/login`, for people (the dashboard).

A credential belongs to one organisation and reaches that organisation's subtree
(manufacturer > distributors > dealers). Its scopes (`customers:read`, `customers:write`,
`surveys:read`, ...) limit what it may do: a missing scope is a 403, a record outside the
subtree is a 404, exactly as if it did not exist.

## Errors
Every error is an RFC 9457 problem, `application/problem+json`, with `type`, `title`,
`status`, `detail` and `instance`; a validation error (422) lists each field in
`errors[]` (`{field, message}`). An unknown query parameter is a 422 naming it. The one
exception is `POST /v1/oauth/token`, which answers RFC 6749's `{error, error_description}`
as OAuth2 libraries expect.

## Pagination
Lists answer `{items, next_cursor}`, oldest first. Pass `next_cursor` back as `cursor` for
the next page (with the same filters) until it is `null`; `limit` sets the page size.

## Idempotency
A create (`POST` answering 201) takes an `Idempotency-Key` header (at most 200 characters,
say a UUID): repeating the request with the same key and body replays the first answer
instead of creating a second record; the same key with a different body is a 422, and a
request still running under that key is a 409. Retry a failed create with the same key.

## ETags and If-Match
A record that can change is read with an `ETag`; send it back as `If-Match` on a change.
A stale ETag is a 412 (read again); where If-Match is required, leaving it out is a 428.

## Rate limits
Each caller has a token bucket. Every limited response carries `RateLimit-Policy` and
`RateLimit` (IETF httpapi ratelimit-headers draft, structured-field revision); a 429 also
carries `Retry-After` in seconds.

## Events and webhooks
Changes are published as events (`customer.created`, `service_visit.closed`,
`complaint.opened`, ...). `GET /v1/event-types` lists every event type with the JSON Schema
of its `data`. Register an HTTPS endpoint with `POST /v1/webhooks`: each delivery is a JSON
POST signed with the webhook's secret (the signature header lets the receiver check it),
retried with back-off until it answers 2xx; `POST /v1/webhooks/{webhook_id}/test` sends a
signed ping, and `GET /v1/webhooks/{webhook_id}/deliveries` shows what was sent.
"""

TAG_DESCRIPTIONS = {
    "organisations": "The organisation tree: manufacturer, distributors, dealers.",
    "api keys": "Keys for scripts and DMS integrations; the secret is shown once, at creation.",
    "users": "People who sign in (dashboard), and their login.",
    "oauth": "OAuth2 clients and the client credentials grant.",
    "webhooks": "Event types, and HTTPS endpoints that receive signed events.",
    "customers": "Customers of the dealers, their consent and erasure, bulk import and the 360 view.",
    "vehicles": "Vehicles (by VIN), deliveries and service visits (repair orders).",
    "staff": "A dealer's advisors, consultants, technicians, CR agents and managers, whom records name by code.",
    "follow-ups": "Sales prospects and the follow-up tasks they and other events create.",
    "contact centre": "Interactions (every contact with a customer, the contact history) and the screen pop by phone.",
    "appointments": "Service appointments: booked, then arrived, no-show or cancelled; a service visit may keep its appointment.",
    "campaigns": "Care campaigns: an audience of customers, a holdout drawn at launch, one message per customer "
                 "(campaign.message), and the uplift in visits.",
    "retention": "Where an org's customers stand: counts per lifecycle state (the funnel) and per value segment.",
    "surveys": "Survey definitions, their published versions and the built-in templates.",
    "survey invitations": "Invitations sent to customers after a delivery or a service visit.",
    "survey responses": "Answers received, their export and import.",
    "survey integrity": "Flagged responses (speeders, straight lines, shared devices, dealer networks, copied text, "
                        "spiking weeks), their review above the dealer, the rules per subtree and each dealer's record.",
    "public survey page": "What the customer's survey page reads and submits; the invitation token is the credential.",
    "complaints": "Complaint cases: open, assign, move through the workflow, comment, escalate, resolve.",
    "complaint SLA and quality": "Response and resolution time targets, and the quality signals complaints raise.",
    "technical requests": "A dealer's technical questions, answered by its distributor's and then the manufacturer's "
                          "technical team within an answer SLA in business hours; escalation, timeline.",
    "bulletins and recalls": "Countermeasure bulletins to the dealers below (acknowledged once, overdue ones reminded), "
                             "recalls with their affected VINs, completion by the remedy op code, progress pooled up the tree.",
    "kpi": "Satisfaction and complaint figures per organisation, ranked, over time, and targets.",
    "improvement-plans": "Improvement plans (PDCA): actions with owners and due dates, plan -> do -> check -> act, "
                         "the KPI re-check, overdue actions published to the org and those above it.",
    "evaluations": "Dealer evaluation schemes (the manufacturer's), evaluations ranked over its network, and publishing them frozen.",
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Makes the create safe to retry: the same key and body replay the first answer.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "examples": ["0b9f6a62-2f4e-4d39-9d1c-6f0d3d0e6c11"]},
}
RESPONSE_HEADERS = {
    "ETag": {"description": "The record's version; send it back as If-Match to change the record.",
             "required": True, "schema": {"type": "string", "examples": ['"3"']}},
    "Location": {"description": "The path of the record created.", "required": True, "schema": {"type": "string"}},
}
IF_MATCH_DESCRIPTION = "The ETag of the record as you read it; a stale one is a 412."

COMMON_ERRORS = {
    400: "A body that is not what its Content-Type says, or a cursor this list did not give",
    401: "Missing or invalid credentials",
    403: "The credential lacks the scope or role",
    413: "The request body is too large",
    422: "Validation failed; `errors[]` names each field (unknown query parameters included)",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "A service or the database is unavailable; retry shortly",
    504: "The service did not answer in time; retry shortly",
}


def operation_id(route: APIRoute) -> str:
    """`customers_create` from `create_customer` on /v1/customers: the resource (the path's first
    segment) and the function's name without the resource's noun. Stable while neither is renamed."""
    segments = [s for s in route.path.split("/") if s and not s.startswith("{") and s != "v1"]
    resource = re.sub(r"[^0-9a-z]+", "_", (segments[0] if segments else "root").lower()).strip("_")
    words = route.name.lower().split("_")
    action = _without_noun(words, resource.replace("_", "")) or words
    return "_".join([resource, *action])


def _without_noun(words: list[str], resource: str) -> list[str]:
    """`words` less the longest run naming the resource, singular or plural (`api_key`, `visit`)."""
    runs = sorted(((i, j) for i in range(len(words)) for j in range(i + 1, len(words) + 1)), key=lambda r: r[0] - r[1])
    for i, j in runs:
        run = "".join(words[i:j])
        if resource.endswith((run, run + "s")) or (run.endswith("y") and resource.endswith(run[:-1] + "ies")):
            return words[:i] + words[j:]
    return words


def install_openapi(app: FastAPI) -> None:
    """The app's /openapi.json in the shape `shape` gives it, built once (FastAPI's own caches it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = shape(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def shape(doc: dict[str, Any]) -> dict[str, Any]:
    """Errors documented as the problems they are; no untyped text response."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for _path, _method, operation in operations(doc):
        for status, response in operation.get("responses", {}).items():
            if status[0] in "45" and _is_problem(response):
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
                if response.get("description") == "Validation Error":
                    response["description"] = COMMON_ERRORS[422]
            for media_type, content in response.get("content", {}).items():
                if media_type.startswith("text/") and not content.get("schema"):
                    content["schema"] = {"type": "string"}
    for name in FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    return doc


def _is_problem(response: dict[str, Any]) -> bool:
    content = response.get("content")
    if not content:
        return True
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] in ("ProblemDetails", *FASTAPI_ERROR_SCHEMAS)


def finish(doc: dict[str, Any], is_public: Callable[[str], bool], is_proxied: Callable[[str], bool]) -> dict[str, Any]:
    """What the merged document alone can say: description, tags, common errors, header fields."""
    doc["info"]["description"] = API_DESCRIPTION
    used = {tag for _path, _method, operation in operations(doc) for tag in operation.get("tags", ())}
    doc["tags"] = [{"name": name, "description": TAG_DESCRIPTIONS.get(name, "")} for name in sorted(used)]
    doc["components"].setdefault("headers", {}).update(RESPONSE_HEADERS)
    for path, _method, operation in operations(doc):
        _declare_common_errors(path, operation, is_public, is_proxied)
    _declare_header_fields(doc)
    return doc


def _declare_common_errors(path: str, operation: dict[str, Any], is_public: Callable[[str], bool],
                           is_proxied: Callable[[str], bool]) -> None:
    """The problems any request may meet on its way: the gateway's checks, the strict query, a service down."""
    errors = [422, 429, 503]
    if not is_public(path):
        errors += [401, 403]
    if "requestBody" in operation:
        errors += [400, 413]
    elif any(parameter.get("name") == "cursor" for parameter in operation.get("parameters", ())):
        errors.append(400)
    if is_proxied(path):
        errors.append(504)
    responses = operation.setdefault("responses", {})
    for status in errors:
        responses.setdefault(str(status), _problem(COMMON_ERRORS[status]))


def _declare_header_fields(doc: dict[str, Any]) -> None:
    """Idempotency-Key on creates, If-Match described, ETag and Location where they are sent."""
    versioned = _versioned_paths(doc)
    for path, method, operation in operations(doc):
        responses = operation["responses"]
        for parameter in operation.get("parameters", ()):
            if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
                parameter.setdefault("description", IF_MATCH_DESCRIPTION)
        created = responses.get("201") if method == "post" else None
        if created is not None:
            # Written out, not a $ref: tools that read parameters' `in` and `name` need no resolver.
            # The gateway's own creates declare the header themselves (gateway/identity/idempotency.py).
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
                parameters.append(dict(IDEMPOTENCY_KEY))
            responses.setdefault("409", _problem("A request with this Idempotency-Key is still running"))
            if _item_path(doc, path):  # every create whose record can be read answers where
                created.setdefault("headers", {})["Location"] = {"$ref": "#/components/headers/Location"}
        if path in versioned or (created is not None and _item_path(doc, path) in versioned):
            for status, response in responses.items():
                if status.startswith("2") and "content" in response:
                    response.setdefault("headers", {})["ETag"] = {"$ref": "#/components/headers/ETag"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}}


def _versioned_paths(doc: dict[str, Any]) -> set[str]:
    """Paths of records read and changed with an ETag: those (or a sub-path) taking If-Match."""
    changed = {path for path, _method, operation in operations(doc)
               if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match"
                      for p in operation.get("parameters", ()))}
    return {path for path in doc.get("paths", {}) for other in changed
            if other == path or (other.startswith(path + "/") and path.endswith("}") and other.count("{") == path.count("{"))}


def _item_path(doc: dict[str, Any], collection: str) -> str | None:
    """`/v1/customers/{customer_id}` for `/v1/customers`, when it can be read."""
    for path, item in doc.get("paths", {}).items():
        rest = path[len(collection) + 1:] if path.startswith(collection + "/") else ""
        if rest.startswith("{") and rest.endswith("}") and "/" not in rest and "get" in item:
            return path
    return None


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]
