"""A client generated from the merged document by a tool nobody here wrote (openapi-python-client,
pinned in the test extra) comes out whole: no warning, no endpoint or model left out.

CSV and JSON Lines uploads are bytes to it: its config maps those media types to octet-stream,
the one way it sends a raw body. The generated code lives in a temporary folder only.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.contracts.openapi_document import merged_document

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CONFIG = """\
content_type_overrides:
  text/csv: application/octet-stream
  application/x-ndjson: application/octet-stream
"""


def test_openapi_python_client_generates_without_warnings(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(merged_document()))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    # It formats what it writes with ruff, found on PATH (installed with it, next to the interpreter).
    environment = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(GENERATOR), "generate", "--path", str(document), "--config", str(config),
                             "--meta", "none", "--output-path", str(tmp_path / "client")],
                            capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path, env=environment)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "Unable to" not in output and "will not be generated" not in output, output
    api = tmp_path / "client" / "api"
    assert (api / "customers" / "customers_create.py").is_file()
    assert (tmp_path / "client" / "models" / "problem_details.py").is_file()
