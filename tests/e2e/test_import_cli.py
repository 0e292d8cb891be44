"""`csloop import customers` against the running suite: a file streamed through the gateway,
counts and row errors printed; a GBK, semicolon-separated file from Excel imports as it is."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def _csloop_import(network: Network, path: Path, dealer_code: str, key: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "import", "customers", str(path), "--dealer", dealer_code,
                           "--url", network.url, "--key", key], capture_output=True, text=True, timeout=120)


def test_import_command_streams_the_file_and_reports_row_errors(network: Network, tmp_path: Path) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "external_id,name,phone,email,consent_survey\n"
        + "".join(f"CLI-{i},客户{i},1350000{i:04d},c{i}@example.cn,true\n" for i in range(50))
        + "CLI-BAD,坏行,12,,true\n",
        encoding="utf-8",
    )
    result = _csloop_import(network, csv_file, dealer.code, dealer.key)
    assert result.returncode == 3, result.stderr  # some rows failed
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"created": 50, "updated": 0, "failed": 1}
    assert "row 52 (external_id CLI-BAD): phone:" in result.stderr  # Excel's row: the header is row 1
    listed = dealer.client.get("/v1/customers", params={"limit": 500}).json()["items"]
    assert len(listed) == 50


def test_a_gbk_semicolon_file_from_excel_imports_with_excel_row_numbers(network: Network, tmp_path: Path) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    gbk_file = tmp_path / "客户.csv"
    gbk_file.write_bytes((
        "external_id;name;phone;city\r\n"
        "GBK-1;张伟;13500001001;上海\r\n"
        "\r\n"  # a blank line in the middle is still a row in Excel
        "GBK-3;王芳;12;北京\r\n"
        "GBK-4;李娜;13500001004;广州\r\n"
    ).encode("gbk"))
    result = _csloop_import(network, gbk_file, dealer.code, dealer.key)
    assert result.returncode == 3, result.stderr
    assert "as gb18030, semicolon-separated" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"created": 2, "updated": 0, "failed": 1}
    assert "row 4 (external_id GBK-3): phone:" in result.stderr
    listed = dealer.client.get("/v1/customers", params={"limit": 10}).json()["items"]
    assert sorted((c["external_id"], c["name"], c["city"]) for c in listed) == [
        ("GBK-1", "张伟", "上海"), ("GBK-4", "李娜", "广州")]
