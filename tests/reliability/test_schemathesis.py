"""Schemathesis against the gateway's merged OpenAPI, with the manufacturer's key: no 5xx, no
response off its schema, no status code, media type or header field the document does not promise.

CI runs the coverage phase (boundary and negative values) and CSLOOP_FUZZ_EXAMPLES (default 10)
generated cases per operation in the fuzzing phase, positive and negative data; `make fuzz`
runs every phase with 100 per operation. Known issues and exclusions: README.md here.

A generated id finds no record, so an operation on one record would only ever answer 404: the
ids in REAL_RECORDS (made before the run, read through a Schemathesis config file) are used
instead, and the run must have reached them (a webhook's test send reaches a real receiver).
"""

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.suite import Network

pytestmark = pytest.mark.e2e

# Schemathesis's classic checks plus the document's promises about status codes, media types
# (errors are application/problem+json) and header fields (RateLimit, ETag, Location, Retry-After).
CHECKS = ("not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,"
          "response_headers_conformance")
# Each exclusion names an operation and why; tests/reliability/README.md lists them as known issues.
EXCLUDED_OPERATIONS: dict[str, str] = {}


class Receiver(BaseHTTPRequestHandler):
    """A webhook target on 127.0.0.1 that counts what it is sent and answers 204."""

    received = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def real_records(network: Network, receiver_url: str) -> list[dict]:
    """Schemathesis operation overrides: path ids of records that exist. DELETE keeps generated
    ids (the record must outlive the run), and so does PATCH (a generated URL would send the
    test pings anywhere)."""
    created = network.manufacturer.client.post("/v1/webhooks", json={
        "url": receiver_url, "event_types": ["complaint.opened"], "org_code": network.manufacturer.code})
    assert created.status_code == 201, created.text
    plan = network.manufacturer.client.post("/v1/improvement-plans", json={
        "org_code": network.manufacturer.code, "kpi": "csi", "period": "2026-01", "baseline": 80, "target": 85,
        "recheck_period": "2026-02", "cause": "Schemathesis", "source": {"kind": "kpi_gap", "ref": "csi"},
        "actions": [{"description": "Schemathesis", "owner": "Quality manager", "due": "2099-01-01"}]})
    assert plan.status_code == 201, plan.text
    bulletin = network.manufacturer.client.post("/v1/bulletins", json={"title": "Schemathesis", "body": "Schemathesis"})
    assert bulletin.status_code == 201, bulletin.text
    recall = network.manufacturer.client.post("/v1/recalls", json={
        "code": f"RC-FUZZ-{uuid.uuid4().hex[:8]}", "title": "Schemathesis", "remedy_op_code": "FUZZ1"})
    assert recall.status_code == 201, recall.text
    return [{"include-path-regex": r"^/v1/bulletins/\{bulletin_id\}", "parameters": {"path.bulletin_id": bulletin.json()["id"]}},
            {"include-path-regex": r"^/v1/recalls/\{recall_code\}", "parameters": {"path.recall_code": recall.json()["code"]}},
            {"include-path-regex": r"^/v1/webhooks/\{webhook_id\}", "exclude-method-regex": "(?i)^(delete|patch)$",
             "parameters": {"path.webhook_id": created.json()["id"]}},
            {"include-path-regex": r"^/v1/improvement-plans/\{plan_id\}", "parameters": {"path.plan_id": plan.json()["id"]}}]


def config_file(operations: list[dict], where: Path) -> Path:
    lines = []
    for operation in operations:
        lines.append("[[operations]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in operation.items() if key != "parameters"]
        lines.append("parameters = { " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}"
                                                   for k, v in operation["parameters"].items()) + " }")
    where.write_text("\n".join(lines) + "\n")
    return where


def schemathesis_command(network: Network, examples: int, phases: str, report: Path, config: Path,
                         checks: str = CHECKS) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config),
        "run", f"{network.url}/openapi.json",
        "--header", f"Authorization: Bearer {network.manufacturer.key}",
        "--checks", checks, "--max-examples", str(examples), "--phases", phases, "--mode", "all",
        "--workers", "1", "--seed", "6", "--request-timeout", "30", "--no-color", "--warnings", "off",
        "--generation-database", "none", "--continue-on-failure",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    for operation_id in EXCLUDED_OPERATIONS:
        command += ["--exclude-operation-id", operation_id]
    return command


def test_every_operation_survives_generated_requests(network: Network, artifacts_dir: Path, receiver: str) -> None:
    examples = int(os.environ.get("CSLOOP_FUZZ_EXAMPLES", "10"))
    phases = os.environ.get("CSLOOP_FUZZ_PHASES", "coverage,fuzzing")
    report = artifacts_dir / "schemathesis-junit.xml"
    timeout = int(os.environ.get("CSLOOP_FUZZ_TIMEOUT", "600"))
    config = config_file(real_records(network, receiver), artifacts_dir / "schemathesis.toml")
    checks = os.environ.get("CSLOOP_FUZZ_CHECKS", CHECKS)
    result = subprocess.run(schemathesis_command(network, examples, phases, report, config, checks), capture_output=True, text=True,
                            timeout=timeout, check=False, cwd=artifacts_dir)  # its replay store lands there
    (artifacts_dir / "schemathesis.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    assert Receiver.received > 0, "no test send reached the real webhook: the overrides were not applied"
