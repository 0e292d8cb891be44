"""The SDK cannot silently fall behind the API: its models against the live OpenAPI document.

Every SDK model is found through the operation whose response it parses (the generator's
table), and its fields must be the schema's properties, required exactly where the schema
requires them, nested models matching nested schemas. Every operation of the document is
either called by an SDK method or listed as not covered. When this fails: regenerate
clients/python/src/csloop_sdk/models.py (clients/python/README.md says how) and add the method.
"""

import importlib.util
import inspect
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from csloop_sdk import CSLoop, models
from tests.support.suite import Network

pytestmark = pytest.mark.e2e

GENERATOR = Path(__file__).resolve().parents[2] / "clients" / "python" / "tools" / "generate_models.py"

# (method, path) -> the SDK method calling it.
COVERED = {
    ("post", "/v1/orgs"): "orgs.create", ("get", "/v1/orgs"): "orgs.list", ("get", "/v1/orgs/{code}"): "orgs.get",
    ("get", "/v1/orgs/{code}/networks"): "orgs.networks", ("put", "/v1/orgs/{code}/networks"): "orgs.set_networks",
    ("post", "/v1/api-keys"): "api_keys.create", ("get", "/v1/api-keys"): "api_keys.list",
    ("delete", "/v1/api-keys/{key_id}"): "api_keys.revoke",
    ("post", "/v1/users"): "users.create", ("get", "/v1/users"): "users.list", ("patch", "/v1/users/{user_id}"): "users.update",
    ("post", "/v1/auth/login"): "auth.login", ("post", "/v1/oauth/token"): "auth.token",
    ("post", "/v1/oauth/clients"): "oauth_clients.create", ("get", "/v1/oauth/clients"): "oauth_clients.list",
    ("get", "/v1/oauth/clients/{client_id}"): "oauth_clients.get",
    ("delete", "/v1/oauth/clients/{client_id}"): "oauth_clients.revoke",
    ("post", "/v1/webhooks"): "webhooks.create", ("get", "/v1/webhooks"): "webhooks.list",
    ("delete", "/v1/webhooks/{webhook_id}"): "webhooks.delete", ("get", "/v1/webhooks/{webhook_id}"): "webhooks.get",
    ("patch", "/v1/webhooks/{webhook_id}"): "webhooks.update", ("post", "/v1/webhooks/{webhook_id}/test"): "webhooks.test",
    ("get", "/v1/event-types"): "event_types.list",
    ("get", "/v1/webhooks/{webhook_id}/deliveries"): "webhooks.deliveries",
    ("post", "/v1/customers"): "customers.create", ("get", "/v1/customers"): "customers.list",
    ("get", "/v1/customers/{customer_id}"): "customers.get", ("patch", "/v1/customers/{customer_id}"): "customers.update",
    ("post", "/v1/customers/{customer_id}/erase"): "customers.erase",
    ("get", "/v1/customers/{customer_id}/360"): "customers.view_360",
    ("post", "/v1/customers/import"): "customers.import_rows",
    ("post", "/v1/vehicles"): "vehicles.create", ("get", "/v1/vehicles"): "vehicles.list",
    ("get", "/v1/vehicles/{vin}"): "vehicles.get",
    ("put", "/v1/customers/by-external-id/{dealer_code}/{external_id}"): "customers.upsert",
    ("put", "/v1/vehicles/by-vin/{dealer_code}/{vin}"): "vehicles.upsert", ("put", "/v1/vehicles/{vin}"): "vehicles.upsert",
    ("put", "/v1/service-visits/by-ro/{dealer_code}/{ro_number}"): "service_visits.upsert",
    ("post", "/v1/vehicles/import"): "vehicles.import_rows", ("post", "/v1/deliveries/import"): "deliveries.import_rows",
    ("post", "/v1/service-visits/import"): "service_visits.import_rows",
    ("post", "/v1/deliveries"): "deliveries.create",
    ("post", "/v1/service-visits"): "service_visits.create", ("get", "/v1/service-visits"): "service_visits.list",
    ("get", "/v1/service-visits/{visit_id}"): "service_visits.get",
    ("patch", "/v1/service-visits/{visit_id}"): "service_visits.update",
    ("post", "/v1/prospects"): "prospects.create", ("get", "/v1/prospects/{prospect_id}"): "prospects.get",
    ("patch", "/v1/prospects/{prospect_id}"): "prospects.update",
    ("get", "/v1/follow-ups"): "follow_ups.list", ("get", "/v1/follow-ups/{followup_id}"): "follow_ups.get",
    ("post", "/v1/follow-ups/{followup_id}/complete"): "follow_ups.complete",
    ("post", "/v1/follow-ups/{followup_id}/assign"): "follow_ups.assign",
    ("post", "/v1/follow-ups/{followup_id}/attempts"): "follow_ups.record_attempt",
    ("get", "/v1/follow-ups/{followup_id}/attempts"): "follow_ups.attempts",
    ("get", "/v1/dealers/{code}/desk-settings"): "desk_settings.get",
    ("put", "/v1/dealers/{code}/desk-settings"): "desk_settings.put",
    ("post", "/v1/interactions"): "interactions.log", ("get", "/v1/interactions"): "interactions.list",
    ("get", "/v1/interactions/{interaction_id}"): "interactions.get", ("get", "/v1/lookup"): "lookup.phone",
    ("post", "/v1/staff"): "staff.create", ("get", "/v1/staff"): "staff.list", ("get", "/v1/staff/{staff_id}"): "staff.get",
    ("patch", "/v1/staff/{staff_id}"): "staff.update",
    ("post", "/v1/appointments"): "appointments.create", ("get", "/v1/appointments"): "appointments.list",
    ("get", "/v1/appointments/{appointment_id}"): "appointments.get",
    ("patch", "/v1/appointments/{appointment_id}"): "appointments.update",
    ("post", "/v1/appointments/{appointment_id}/status"): "appointments.set_status",
    ("post", "/v1/campaigns"): "campaigns.create", ("get", "/v1/campaigns"): "campaigns.list",
    ("get", "/v1/campaigns/{campaign_id}"): "campaigns.get", ("post", "/v1/campaigns/{campaign_id}/launch"): "campaigns.launch",
    ("get", "/v1/campaigns/{campaign_id}/results"): "campaigns.results", ("get", "/v1/retention"): "retention.get",
    ("post", "/v1/complaints"): "complaints.create", ("get", "/v1/complaints"): "complaints.list",
    ("get", "/v1/complaints/{complaint_id}"): "complaints.get",
    ("patch", "/v1/complaints/{complaint_id}"): "complaints.assign",
    ("post", "/v1/complaints/{complaint_id}/transitions"): "complaints.transition",
    ("post", "/v1/complaints/{complaint_id}/comments"): "complaints.comment",
    ("post", "/v1/complaints/{complaint_id}/escalate"): "complaints.escalate",
    ("put", "/v1/complaints/{complaint_id}/resolution"): "complaints.resolve",
    ("post", "/v1/tech-requests"): "tech_requests.create", ("get", "/v1/tech-requests"): "tech_requests.list",
    ("get", "/v1/tech-requests/{tech_request_id}"): "tech_requests.get",
    ("post", "/v1/tech-requests/{tech_request_id}/answers"): "tech_requests.answer",
    ("post", "/v1/tech-requests/{tech_request_id}/escalate"): "tech_requests.escalate",
    ("post", "/v1/tech-requests/{tech_request_id}/close"): "tech_requests.close",
    ("get", "/v1/complaint-sla-policies"): "sla_policies.get", ("put", "/v1/complaint-sla-policies"): "sla_policies.put",
    ("get", "/v1/quality-signals"): "quality_signals.list",
    ("post", "/v1/bulletins"): "bulletins.publish", ("get", "/v1/bulletins"): "bulletins.list",
    ("get", "/v1/bulletins/{bulletin_id}"): "bulletins.get", ("post", "/v1/bulletins/{bulletin_id}/ack"): "bulletins.ack",
    ("get", "/v1/bulletins/{bulletin_id}/acks"): "bulletins.acks", ("post", "/v1/recalls"): "recalls.create",
    ("get", "/v1/recalls"): "recalls.list",
    ("post", "/v1/recalls/{recall_code}/vins/import"): "recalls.import_vins",
    ("get", "/v1/recalls/{recall_code}/progress"): "recalls.progress",
    ("get", "/v1/kpi/summary"): "kpi.summary", ("get", "/v1/kpi/rankings"): "kpi.rankings",
    ("get", "/v1/kpi/trends"): "kpi.trends", ("get", "/v1/kpi/drivers"): "kpi.drivers",
    ("get", "/v1/kpi/complaints"): "kpi.complaints", ("get", "/v1/kpi/fir-held-out"): "kpi.fir_held_out",
    ("get", "/v1/kpi/fir-causes"): "kpi.fir_causes",
    ("put", "/v1/kpi/targets"): "kpi.set_target",
    ("post", "/v1/improvement-plans"): "improvement_plans.create", ("get", "/v1/improvement-plans"): "improvement_plans.list",
    ("get", "/v1/improvement-plans/{plan_id}"): "improvement_plans.get",
    ("post", "/v1/improvement-plans/{plan_id}/transitions"): "improvement_plans.transition",
    ("post", "/v1/improvement-plans/{plan_id}/actions/{index}/done"): "improvement_plans.done",
    ("get", "/v1/evaluation-schemes"): "evaluations.schemes", ("get", "/v1/evaluation-schemes/{code}"): "evaluations.scheme",
    ("put", "/v1/evaluation-schemes/{code}"): "evaluations.put_scheme", ("get", "/v1/evaluations"): "evaluations.get",
    ("post", "/v1/evaluations/{scheme}/{period}/publish"): "evaluations.publish",
    ("get", "/v1/kpi/people"): "kpi.people", ("get", "/v1/kpi/departments"): "kpi.departments",
    ("get", "/v1/survey-templates"): "surveys.templates",
    ("post", "/v1/surveys"): "surveys.create", ("get", "/v1/surveys"): "surveys.list",
    ("get", "/v1/surveys/{survey_id}"): "surveys.get", ("patch", "/v1/surveys/{survey_id}"): "surveys.update",
    ("post", "/v1/surveys/{survey_id}/publish"): "surveys.publish",
    ("get", "/v1/surveys/{survey_id}/versions/{number}"): "surveys.version",
    ("post", "/v1/survey-invitations"): "invitations.create", ("get", "/v1/survey-invitations"): "invitations.list",
    ("get", "/v1/survey-invitations/{invitation_id}"): "invitations.get",
    ("get", "/v1/survey-responses"): "responses.list",
    ("get", "/v1/survey-responses/{response_id}"): "responses.get",
    ("get", "/v1/survey-responses/export.csv"): "responses.export_csv",
    ("post", "/v1/survey-responses/{response_id}/review"): "survey_integrity.review",
    ("get", "/v1/survey-integrity/rules"): "survey_integrity.rules",
    ("put", "/v1/survey-integrity/rules"): "survey_integrity.set_rules",
    ("get", "/v1/survey-integrity"): "survey_integrity.report",
    ("get", "/v1/survey-integrity/flagged.csv"): "survey_integrity.export_flagged_csv",
    ("post", "/v1/survey-responses/import"): "responses.import_results",
    ("get", "/v1/public/surveys/{token}"): "public_surveys.get",
    ("post", "/v1/public/surveys/{token}/responses"): "public_surveys.answer",
}
# Operations of the document the SDK does not call yet (each listed in clients/python/README.md).
NOT_COVERED: set[tuple[str, str]] = set()
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document(network: Network) -> dict[str, Any]:
    return httpx.get(f"{network.url}/openapi.json", timeout=60).json()


@pytest.fixture(scope="module")
def generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_models", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_operation_has_an_sdk_method_or_is_listed_as_not_covered(document: dict[str, Any]) -> None:
    operations = {(method, path) for path, item in document["paths"].items() for method in item if method in METHODS}
    assert sorted(operations - COVERED.keys() - NOT_COVERED) == [], "new operations: add SDK methods (or list them)"
    assert sorted((COVERED.keys() | NOT_COVERED) - operations) == [], "the SDK calls operations the API no longer has"
    client = CSLoop("http://unused", api_key="unused")
    for dotted in COVERED.values():
        group, method = dotted.split(".")
        assert callable(getattr(getattr(client, group), method)), dotted


def test_every_query_parameter_of_an_operation_is_a_parameter_of_its_method(document: dict[str, Any]) -> None:
    """A filter the API gains (say `updated_since`) must be one the SDK can send; `from` is `from_`."""
    client = CSLoop("http://unused", api_key="unused")
    missing = {}
    for (method, path), dotted in COVERED.items():
        operation = document["paths"][path][method]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"} - {"limit", "cursor"}
        group, name = dotted.split(".")
        accepted = {parameter.rstrip("_") for parameter in inspect.signature(getattr(getattr(client, group), name)).parameters}
        if query - accepted:
            missing[dotted] = sorted(query - accepted)
    assert missing == {}


def test_every_field_of_a_request_body_is_a_parameter_of_its_method(document: dict[str, Any]) -> None:
    """Named as the API names them, required where the API requires them. Updates (PATCH) take
    the fields to change as keywords, so only their existence is checked by the server."""
    client = CSLoop("http://unused", api_key="unused")
    problems = []
    for (method, path), dotted in COVERED.items():
        content = document["paths"][path][method].get("requestBody", {}).get("content", {})
        if "application/json" not in content or method == "patch":
            continue
        schema = content["application/json"]["schema"]
        if "$ref" in schema:  # a named component, or written inline (the public survey submission)
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        group, name = dotted.split(".")
        parameters = inspect.signature(getattr(getattr(client, group), name)).parameters
        for field in schema.get("properties", {}):
            if field not in parameters:
                problems.append(f"{dotted}: no parameter for the body's {field}")
            elif (field in schema.get("required", ())) != (parameters[field].default is inspect.Parameter.empty):
                problems.append(f"{dotted}({field}): required in the API: {field in schema.get('required', ())}")
    assert problems == [], "\n".join(problems)


def test_every_model_matches_the_schema_of_the_response_it_parses(document: dict[str, Any], generator: Any) -> None:
    seen: set[str] = set()
    problems: list[str] = []
    for sdk_name, where in generator.MODELS.items():
        component = generator.response_ref(document, *where)
        compare(getattr(models, sdk_name), component, document, seen, problems)
    assert problems == [], "\n".join(problems)
    every = {name for name, value in vars(models).items()
             if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == models.__name__}
    assert every - seen == set(), "SDK models no response uses"


def compare(model: type[BaseModel], component: str, document: dict[str, Any], seen: set[str], problems: list[str]) -> None:
    if model.__name__ in seen:
        return
    seen.add(model.__name__)
    schema = document["components"]["schemas"][component]
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    where = f"{model.__name__} (schema {component})"
    if missing := sorted(properties.keys() - fields.keys()):
        problems.append(f"{where}: the API has fields the SDK lacks: {missing}")
    if extra := sorted(fields.keys() - properties.keys()):
        problems.append(f"{where}: the SDK has fields the API no longer sends: {extra}")
    for name in sorted(fields.keys() & properties.keys()):
        if fields[name].is_required() != (name in required):
            problems.append(f"{where}.{name}: required in the API: {name in required}, in the SDK: {fields[name].is_required()}")
        nested_models = _models_in(fields[name].annotation)
        nested_refs = sorted(_refs_in(properties[name]))
        if len(nested_models) != len(nested_refs):
            problems.append(f"{where}.{name}: the API nests {nested_refs}, the SDK {[m.__name__ for m in nested_models]}")
            continue
        for nested, ref in zip(nested_models, nested_refs):
            compare(nested, ref, document, seen, problems)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for argument in typing.get_args(annotation) for found in _models_in(argument)]


def _refs_in(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["$ref"].rsplit("/", 1)[-1]} if "$ref" in schema else set()
        return own.union(*(_refs_in(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_refs_in(value) for value in schema))
    return set()
