"""The merged OpenAPI document as the gateway serves it, built in-process from the five apps
(the same `merge` the gateway runs over the services' /openapi.json)."""

from functools import cache
from typing import Any

from fastapi import FastAPI

from gateway.app import create_app as gateway_app
from gateway.edge.openapi import merge
from services.complaint.app import create_app as complaint_app
from services.customer.app import create_app as customer_app
from services.kpi.app import create_app as kpi_app
from services.survey.app import create_app as survey_app

SERVICES = {"customer": customer_app, "survey": survey_app, "complaint": complaint_app, "kpi": kpi_app}


@cache
def apps() -> dict[str, FastAPI]:
    return {"gateway": gateway_app(), **{name: create() for name, create in SERVICES.items()}}


def merged_document() -> dict[str, Any]:
    built = apps()
    return merge(built["gateway"].openapi(), {name: built[name].openapi() for name in SERVICES})
