"""`csloop import customers`: a CSV streamed through the gateway, counts and row errors printed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def test_import_command_streams_the_file_and_reports_row_errors(network: Network, tmp_path: Path) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "external_id,name,phone,email,consent_survey\n"
        + "".join(f"CLI-{i},客户{i},1350000{i:04d},c{i}@example.cn,true\n" for i in range(50))
        + "CLI-BAD,坏行,12,,true\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "cli", "import", "customers", str(csv_file), "--dealer", dealer.code,
         "--url", network.url, "--key", dealer.key],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr  # some rows failed
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"created": 50, "updated": 0, "failed": 1}
    assert "phone" in result.stderr and "51" in result.stderr
    listed = dealer.client.get("/v1/customers", params={"limit": 500}).json()["items"]
    assert len(listed) == 50
