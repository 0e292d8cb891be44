"""Writes src/csloop_sdk/models.py from the merged OpenAPI document (development time only).

    python tools/generate_models.py openapi.json > src/csloop_sdk/models.py

Each SDK model is found through the operation whose response it parses (method, path,
status), not through the server's schema name, so a renamed schema keeps its SDK name.
Nested schemas keep their own names. Only names, types and required-ness are carried over:
the server validates; the SDK parses. tests/sdk/test_drift.py checks the result against the
live document, so a regenerated file is needed whenever the API changes a response.
"""

import json
import keyword
import sys
from typing import Any

from pydantic import BaseModel

# SDK name -> (method, path, status) of the operation whose response it is. A list endpoint
# names its page; the model is the page's item (a 4th element picks one of an item's anyOf).
MODELS: dict[str, tuple[str, str, str] | tuple[str, str, str, int]] = {
    "Org": ("get", "/v1/orgs/{code}", "200"),
    "OrgNetworks": ("get", "/v1/orgs/{code}/networks", "200"),
    "ApiKey": ("get", "/v1/api-keys", "200"),
    "ApiKeyCreated": ("post", "/v1/api-keys", "201"),
    "User": ("post", "/v1/users", "201"),
    "AccessToken": ("post", "/v1/auth/login", "200"),
    "OAuthClient": ("get", "/v1/oauth/clients/{client_id}", "200"),
    "OAuthClientCreated": ("post", "/v1/oauth/clients", "201"),
    "OAuthToken": ("post", "/v1/oauth/token", "200"),
    "Webhook": ("get", "/v1/webhooks", "200"),
    "WebhookCreated": ("post", "/v1/webhooks", "201"),
    "WebhookDelivery": ("get", "/v1/webhooks/{webhook_id}/deliveries", "200"),
    "WebhookTestResult": ("post", "/v1/webhooks/{webhook_id}/test", "200"),
    "EventType": ("get", "/v1/event-types", "200"),
    "Customer": ("get", "/v1/customers/{customer_id}", "200"),
    "CustomerTombstone": ("get", "/v1/customers", "200", 1),
    "Customer360": ("get", "/v1/customers/{customer_id}/360", "200"),
    "ImportResult": ("post", "/v1/customers/import", "200"),
    "Vehicle": ("get", "/v1/vehicles/{vin}", "200"),
    "Delivery": ("post", "/v1/deliveries", "201"),
    "ServiceVisit": ("get", "/v1/service-visits/{visit_id}", "200"),
    "Prospect": ("get", "/v1/prospects/{prospect_id}", "200"),
    "FollowUp": ("get", "/v1/follow-ups/{followup_id}", "200"),
    "FollowUpAttempt": ("get", "/v1/follow-ups/{followup_id}/attempts", "200"),
    "DeskSettings": ("get", "/v1/dealers/{code}/desk-settings", "200"),
    "Interaction": ("get", "/v1/interactions/{interaction_id}", "200"),
    "Lookup": ("get", "/v1/lookup", "200"),
    "Staff": ("get", "/v1/staff/{staff_id}", "200"),
    "Appointment": ("get", "/v1/appointments/{appointment_id}", "200"),
    "Campaign": ("get", "/v1/campaigns/{campaign_id}", "200"),
    "CampaignResults": ("get", "/v1/campaigns/{campaign_id}/results", "200"),
    "Retention": ("get", "/v1/retention", "200"),
    "Complaint": ("get", "/v1/complaints/{complaint_id}", "200"),
    "SlaPolicies": ("get", "/v1/complaint-sla-policies", "200"),
    "QualitySignal": ("get", "/v1/quality-signals", "200"),
    "TechRequest": ("get", "/v1/tech-requests/{tech_request_id}", "200"),
    "Bulletin": ("get", "/v1/bulletins/{bulletin_id}", "200"),
    "BulletinAck": ("post", "/v1/bulletins/{bulletin_id}/ack", "201"),
    "BulletinAcks": ("get", "/v1/bulletins/{bulletin_id}/acks", "200"),
    "Recall": ("post", "/v1/recalls", "201"),
    "RecallSummary": ("get", "/v1/recalls", "200"),
    "RecallImport": ("post", "/v1/recalls/{recall_code}/vins/import", "200"),
    "RecallProgress": ("get", "/v1/recalls/{recall_code}/progress", "200"),
    "KpiSummary": ("get", "/v1/kpi/summary", "200"),
    "KpiRankings": ("get", "/v1/kpi/rankings", "200"),
    "KpiTrend": ("get", "/v1/kpi/trends", "200"),
    "KpiDrivers": ("get", "/v1/kpi/drivers", "200"),
    "ComplaintCounts": ("get", "/v1/kpi/complaints", "200"),
    "FirHeldOut": ("get", "/v1/kpi/fir-held-out", "200"),
    "FirCauses": ("get", "/v1/kpi/fir-causes", "200"),
    "KpiTarget": ("put", "/v1/kpi/targets", "200"),
    "ImprovementPlan": ("get", "/v1/improvement-plans/{plan_id}", "200"),
    "EvaluationScheme": ("get", "/v1/evaluation-schemes/{code}", "200"),
    "DealerEvaluation": ("get", "/v1/evaluations", "200"),
    "KpiPeople": ("get", "/v1/kpi/people", "200"),
    "KpiDepartments": ("get", "/v1/kpi/departments", "200"),
    "SurveyTemplate": ("get", "/v1/survey-templates", "200"),
    "Survey": ("get", "/v1/surveys/{survey_id}", "200"),
    "SurveyVersion": ("get", "/v1/surveys/{survey_id}/versions/{number}", "200"),
    "InvitationCreated": ("post", "/v1/survey-invitations", "201"),
    "Invitation": ("get", "/v1/survey-invitations/{invitation_id}", "200"),
    "SurveyResponse": ("get", "/v1/survey-responses/{response_id}", "200"),
    "ResponseImportResult": ("post", "/v1/survey-responses/import", "200"),
    "IntegrityRules": ("get", "/v1/survey-integrity/rules", "200"),
    "IntegrityReport": ("get", "/v1/survey-integrity", "200"),
    "PublicSurvey": ("get", "/v1/public/surveys/{token}", "200"),
    "PublicResponse": ("post", "/v1/public/surveys/{token}/responses", "201"),
}

FORMATS = {"date-time": "datetime", "date": "date"}
SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
RESERVED = set(dir(BaseModel))


# Nested schemas whose server name reads badly in Python (a builtin's name, a `Read` suffix).
NESTED_NAMES = {"ImportError_": "ImportRowError", "SurveyImportError_": "ResponseImportRowError",
                "TimelineRead": "TimelineEntry", "SlaPolicyRead": "SlaPolicy", "DeliveryAttempt": "WebhookDeliveryAttempt",
                "PlanActionRead": "ImprovementAction", "PlanResult": "ImprovementResult", "PlanSource": "ImprovementSource"}


def response_ref(doc: dict[str, Any], method: str, path: str, status: str, option: int = 0) -> str:
    """The component a response parses into: a page's (or a plain list's) item, an array's item, or the body itself."""
    content = doc["paths"][path][method]["responses"][status]["content"]
    schema = content["application/json"]["schema"]
    if schema.get("type") == "array":
        return ref_name(schema["items"])
    props = doc["components"]["schemas"][ref_name(schema)].get("properties", {})
    if set(props) in ({"items", "next_cursor"}, {"items"}):
        item = props["items"]["items"]
        return ref_name(item["anyOf"][option] if "anyOf" in item else item)
    return ref_name(schema)


def ref_name(schema: dict[str, Any]) -> str:
    return schema["$ref"].rsplit("/", 1)[-1]


def python_name(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) or name in RESERVED else name


class Generator:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.names = dict(NESTED_NAMES)  # component name -> SDK class name
        self.done: set[str] = set()
        self.out: list[str] = []
        for sdk_name, where in MODELS.items():
            self.names[response_ref(doc, *where)] = sdk_name

    def run(self) -> str:
        for where in MODELS.values():
            self.model(response_ref(self.doc, *where))
        head = ['"""Typed responses of the CSLoop API. Generated by tools/generate_models.py: do not edit by hand."""',
                "", "from datetime import date, datetime", "from typing import Any", "",
                "from pydantic import Field", "", "from csloop_sdk.base import Model"]
        return "\n".join(head + self.out) + "\n"

    def model(self, component: str) -> str:
        name = self.names.setdefault(component, component.rstrip("_"))
        schema = self.doc["components"]["schemas"][component]
        if name in self.done:
            return name
        self.done.add(name)
        required = set(schema.get("required", ()))
        fields = [self.field(prop, sub, prop in required) for prop, sub in schema.get("properties", {}).items()]
        doc = (schema.get("description") or "").strip().splitlines()
        lines = ["", "", f"class {name}(Model):"]
        if doc:
            lines.append(f'    """{doc[0]}"""')
        lines += fields or ["    pass"]
        self.out += lines
        return name

    def field(self, prop: str, schema: dict[str, Any], required: bool) -> str:
        annotation = self.annotation(schema)
        name = python_name(prop)
        default = ""
        if not required:
            if "default" not in schema and "None" not in annotation.split(" | "):
                annotation += " | None"
            default = repr(schema.get("default"))
        if name != prop:
            default = f"Field({'default=' + default + ', ' if default else ''}alias={prop!r})"
        return f"    {name}: {annotation}" + (f" = {default}" if default else "")

    def annotation(self, schema: dict[str, Any]) -> str:
        if "$ref" in schema:
            return self.model(ref_name(schema))
        if "anyOf" in schema:
            return " | ".join(dict.fromkeys(self.annotation(option) for option in schema["anyOf"]))
        if "enum" in schema:
            # Plain strings, not Literal: a value the server adds later must not break an older SDK.
            return SCALARS.get(schema.get("type", "string"), "Any")
        kind = schema.get("type")
        if kind == "array":
            return f"list[{self.annotation(schema.get('items', {}))}]"
        if kind == "object" or (kind is None and "properties" in schema):
            extra = schema.get("additionalProperties")
            return f"dict[str, {self.annotation(extra) if isinstance(extra, dict) and extra else 'Any'}]"
        if kind in SCALARS:
            return FORMATS.get(schema.get("format", ""), SCALARS[kind]) if kind == "string" else SCALARS[kind]
        return "Any"


if __name__ == "__main__":
    with open(sys.argv[1]) as source:
        sys.stdout.write(Generator(json.load(source)).run())
