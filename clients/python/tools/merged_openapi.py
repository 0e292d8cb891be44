"""Writes the gateway's merged OpenAPI document without running the suite (development time only).

    python clients/python/tools/merged_openapi.py /tmp/openapi.json

The same merge the gateway serves at /openapi.json (gateway.edge.openapi.merge) over the
documents the five apps build in process: no ports, no timeouts, so a loaded machine never
yields a document missing a service.
"""

import json
import sys

from gateway.app import create_app as gateway_app
from gateway.edge.openapi import merge
from services.complaint.app import create_app as complaint_app
from services.customer.app import create_app as customer_app
from services.kpi.app import create_app as kpi_app
from services.survey.app import create_app as survey_app

SERVICES = {"customer": customer_app, "survey": survey_app, "complaint": complaint_app, "kpi": kpi_app}


def main(path: str) -> None:
    documents = {name: create_app().openapi() for name, create_app in SERVICES.items()}
    with open(path, "w") as out:
        json.dump(merge(gateway_app().openapi(), documents), out)


if __name__ == "__main__":
    main(sys.argv[1])
