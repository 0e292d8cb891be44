"""The merged OpenAPI document keeps the promises an integrator's tools rely on (issue 13 item 1):
one error shape, unique schema names and titles, typed responses, short unique operation ids,
described tags, the conventions written down, examples on request bodies, the header fields."""

import json
import re
from collections import Counter
from typing import Any

import pytest
from fastapi.routing import APIRoute

from shared.openapi_doc import PROBLEM_REF, operations
from shared.problems import PROBLEM_MEDIA_TYPE
from tests.contracts.openapi_document import apps, merged_document

# RFC 6749 5.2 prescribes the token endpoint's error body; OAuth2 libraries parse that one.
OAUTH_TOKEN_ERRORS = {("/v1/oauth/token", "400"), ("/v1/oauth/token", "401")}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return merged_document()


def test_every_error_is_the_one_problem_schema(document: dict[str, Any]) -> None:
    wrong = []
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45" and (path, status) not in OAUTH_TOKEN_ERRORS:
                if response.get("content") != {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}:
                    wrong.append(f"{method.upper()} {path} {status}")
    assert wrong == []
    schemas = document["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & schemas.keys()
    assert "errors" in schemas["ProblemDetails"]["properties"]


def test_every_operation_documents_validation_and_rate_limit_problems(document: dict[str, Any]) -> None:
    missing = [f"{method} {path}" for path, method, operation in operations(document)
               if not {"422", "429"} <= operation["responses"].keys()]
    assert missing == []


def test_schema_names_and_titles_are_unique(document: dict[str, Any]) -> None:
    titles = Counter(schema.get("title", name) for name, schema in document["components"]["schemas"].items())
    assert [title for title, count in titles.items() if count > 1] == []


def test_every_response_with_a_body_is_typed(document: dict[str, Any]) -> None:
    untyped = [f"{method.upper()} {path} {status} {media_type}"
               for path, method, operation in operations(document)
               for status, response in operation["responses"].items()
               for media_type, content in response.get("content", {}).items()
               if not content.get("schema") or content["schema"] in ({"type": "object"}, {"additionalProperties": True})]
    assert untyped == []
    for path in ("/v1/customers/{customer_id}/360", "/v1/kpi/summary", "/v1/kpi/rankings"):
        assert "$ref" in document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_every_json_route_of_every_app_has_a_response_model() -> None:
    """Internal routes included (the KPI rebuild): nothing answers an untyped dict."""
    untyped = [f"{name}: {route.path}" for name, app in apps().items() for route in app.routes
               if isinstance(route, APIRoute) and route.response_model in (dict, None) and route.status_code != 204
               and route.path.startswith(("/v1/", "/internal/kpi")) and not route.response_class.__name__.startswith(("HTML", "File"))
               and 200 not in route.responses and route.methods & {"GET", "POST", "PUT", "PATCH"}]
    assert untyped == []


def test_operation_ids_are_short_unique_and_stable(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _path, _method, operation in operations(document)]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert [name for name in ids if not re.fullmatch(r"[a-z][a-z0-9_]{2,40}", name)] == []
    by_route = {(method, path): operation["operationId"] for path, method, operation in operations(document)}
    assert by_route[("post", "/v1/customers")] == "customers_create"
    assert by_route[("get", "/v1/customers/{customer_id}")] == "customers_get"
    assert by_route[("get", "/v1/customers")] == "customers_list"
    assert by_route[("post", "/v1/service-visits")] == "service_visits_create"
    assert by_route[("delete", "/v1/api-keys/{key_id}")] == "api_keys_revoke"


def test_every_tag_is_described(document: dict[str, Any]) -> None:
    described = {tag["name"] for tag in document["tags"] if tag["description"]}
    used = {tag for _path, _method, operation in operations(document) for tag in operation.get("tags", ())}
    assert used - described == set()


def test_the_description_explains_the_conventions(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    for term in ("API key", "OAuth", "Bearer", "scopes", "RFC 9457", "errors[]", "cursor", "Idempotency-Key",
                 "ETag", "If-Match", "RateLimit", "Retry-After", "webhooks", "/v1/event-types"):
        assert term in description, term


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    missing = []
    for path, method, operation in operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = content.get("schema", {})
            schema = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)
            if not ("example" in content or "examples" in content or schema.get("examples")):
                missing.append(f"{method.upper()} {path} {media_type}")
    assert missing == []


def test_every_example_is_a_valid_body() -> None:
    """The examples are what a reader copies: each validates against its model."""
    for app in apps().values():
        for route in app.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                model = route.body_field.field_info.annotation
                for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):
                    model.model_validate(example)


def test_the_header_fields_are_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path, method, operation in operations(document):
        if method == "post" and "201" in operation["responses"]:
            assert "Idempotency-Key" in [p["name"] for p in operation["parameters"] if p["in"] == "header"], path
    created = paths["/v1/customers"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag"} <= created.keys()
    for gateways_own in ("/v1/orgs", "/v1/oauth/clients", "/v1/webhooks"):  # the Schemathesis run checks they are sent
        assert "Location" in paths[gateways_own]["post"]["responses"]["201"]["headers"], gateways_own
    assert "ETag" in paths["/v1/customers/{customer_id}"]["get"]["responses"]["200"]["headers"]
    update = paths["/v1/customers/{customer_id}"]["patch"]
    assert [p["name"] for p in update["parameters"] if p.get("in") == "header"] == ["if-match"]
    assert "ETag" in update["responses"]["200"]["headers"]
    assert {"RateLimit", "RateLimit-Policy"} <= paths["/v1/customers"]["get"]["responses"]["200"]["headers"].keys()
    assert "Retry-After" in paths["/v1/customers"]["get"]["responses"]["429"]["headers"]


def test_merging_again_gives_the_same_document() -> None:
    """The gateway merges on every request from cached documents: nothing may pile up."""
    first = json.dumps(merged_document(), sort_keys=True)
    assert json.dumps(merged_document(), sort_keys=True) == first
