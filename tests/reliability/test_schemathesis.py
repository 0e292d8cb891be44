"""Schemathesis against the gateway's merged OpenAPI, with the manufacturer's key: no 5xx, no response off its schema.

CI runs CSLOOP_FUZZ_EXAMPLES (default 10) generated cases per operation in the fuzzing phase;
`make fuzz` runs every phase with 100 per operation. Known issues and exclusions: README.md here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.suite import Network

pytestmark = pytest.mark.e2e

CHECKS = "not_a_server_error,response_schema_conformance"
# Each exclusion names an operation and why; tests/reliability/README.md lists them as known issues.
EXCLUDED_OPERATIONS: dict[str, str] = {}


def schemathesis_command(network: Network, examples: int, phases: str, report: Path) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{network.url}/openapi.json",
        "--header", f"Authorization: Bearer {network.manufacturer.key}",
        "--checks", CHECKS, "--max-examples", str(examples), "--phases", phases,
        "--workers", "1", "--seed", "6", "--request-timeout", "30", "--no-color", "--warnings", "off",
        "--generation-database", "none", "--continue-on-failure",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    for operation_id in EXCLUDED_OPERATIONS:
        command += ["--exclude-operation-id", operation_id]
    return command


def test_every_operation_survives_generated_requests(network: Network, artifacts_dir: Path) -> None:
    examples = int(os.environ.get("CSLOOP_FUZZ_EXAMPLES", "10"))
    phases = os.environ.get("CSLOOP_FUZZ_PHASES", "fuzzing")
    report = artifacts_dir / "schemathesis-junit.xml"
    timeout = int(os.environ.get("CSLOOP_FUZZ_TIMEOUT", "600"))
    result = subprocess.run(schemathesis_command(network, examples, phases, report), capture_output=True, text=True,
                            timeout=timeout, check=False, cwd=artifacts_dir)  # its replay store lands there
    (artifacts_dir / "schemathesis.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
