"""`csloop import customers` reads the files Excel writes (GBK, UTF-8 with a BOM, UTF-16;
commas, semicolons, tabs), sends UTF-8 with commas, and names failed rows as Excel does."""

import codecs
from pathlib import Path

import pytest

from cli.importer import CUSTOMER_COLUMNS
from services.customer.domain import IMPORT_FIELDS
from tests.cli.conftest import run
from tests.cli.fake_server import FakeServer

OK = {"created": 2, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}
ROWS = [["external_id", "name", "city"], ["C-1", "张伟", "上海"], ["C-2", "王芳", "北京, 朝阳"]]
SENT = 'external_id,name,city\nC-1,张伟,上海\nC-2,王芳,"北京, 朝阳"\n'.encode()


def _write(tmp_path: Path, raw: bytes, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def _import(server: FakeServer, path: Path, *extra: str):  # noqa: ANN202
    return run("import", "customers", str(path), "--dealer", "D", "--url", server.url, "--key", "k", *extra)


def _lines(delimiter: str, newline: str = "\r\n") -> str:
    return "".join(delimiter.join(f'"{v}"' if delimiter in v else v for v in row) + newline for row in ROWS)


@pytest.mark.parametrize(("raw", "described"), [
    (_lines(";").encode("gbk"), "gb18030, semicolon-separated"),
    (_lines(",").encode("gb18030"), "gb18030, comma-separated"),
    (codecs.BOM_UTF8 + _lines("\t").encode(), "utf-8-sig, tab-separated"),
    (_lines(";", "\n").encode(), "utf-8, semicolon-separated"),
    (codecs.BOM_UTF16_LE + _lines("\t").encode("utf-16-le"), "utf-16, tab-separated"),
], ids=["gbk-semicolon", "gb18030-comma", "utf8-bom-tab", "utf8-semicolon", "utf16-tab"])
def test_excel_files_are_sent_as_utf8_with_commas(server: FakeServer, tmp_path: Path, raw: bytes, described: str) -> None:
    server.answers(200, OK)
    result = _import(server, _write(tmp_path, raw))
    assert result.exit_code == 0, result.output
    assert f"as {described}" in result.stderr
    [request] = server.received
    assert request.headers["content-type"] == "text/csv"
    assert request.body == SENT


def test_encoding_and_delimiter_options_override_detection(server: FakeServer, tmp_path: Path) -> None:
    latin = _write(tmp_path, "external_id|name\nC-1|Café Müller\n".encode("cp1252"))
    refused = _import(server, latin)
    assert refused.exit_code == 1
    assert "cannot tell the encoding" in refused.stderr and "--encoding" in refused.stderr
    assert server.received == []
    server.answers(200, OK)
    result = _import(server, latin, "--encoding", "cp1252", "--delimiter", "|")
    assert result.exit_code == 0, result.output
    assert server.received[0].body == "external_id,name\nC-1,Café Müller\n".encode()


def test_a_file_that_stops_being_its_encoding_is_a_one_line_error(server: FakeServer, tmp_path: Path) -> None:
    path = _write(tmp_path, "external_id,name\nC-1,张伟\n".encode() + b"C-2,\xff\xfe\n")
    result = _import(server, path, "--encoding", "utf-8")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: customers.csv line 3 is not utf-8")


def test_row_errors_carry_the_excel_row_and_the_external_id(server: FakeServer, tmp_path: Path) -> None:
    # A blank line and a quoted cell over two lines: Excel still shows one row per record.
    text = 'external_id;name;phone\r\nC-1;张伟;13500000001\r\n\r\nC-3;"王\r\n芳";12\r\nC-4;李娜;13500000004\r\n'
    path = _write(tmp_path, text.encode("gbk"))
    server.answers(200, {"created": 2, "updated": 0, "unchanged": 0, "failed": 1,
                         "errors": [{"row": 3, "field": "phone", "message": "not a phone number"}]})
    result = _import(server, path)
    assert result.exit_code == 3
    assert "row 4 (external_id C-3): phone: not a phone number" in result.stderr
    # The blank line is sent as one, so the server's record numbers stay the file's.
    assert server.received[0].body.decode().split("\n")[:4] == [
        "external_id,name,phone", "C-1,张伟,13500000001", "", 'C-3,"王\r']


def test_jsonl_row_errors_carry_the_line_and_the_external_id(server: FakeServer, tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"external_id": "J-1", "name": "a"}\n{"external_id": "J-2", "name": ""}\n', "c.jsonl")
    server.answers(200, {"created": 1, "updated": 0, "unchanged": 0, "failed": 1,
                         "errors": [{"row": 2, "field": "name", "message": "required"}]})
    result = _import(server, path)
    assert result.exit_code == 3
    assert "row 2 (external_id J-2): name: required" in result.stderr
    assert server.received[0].headers["content-type"] == "application/x-ndjson"


def test_help_lists_the_importable_columns() -> None:
    assert CUSTOMER_COLUMNS == IMPORT_FIELDS  # the server's list
    text = run("import", "customers", "--help").stdout
    for column in IMPORT_FIELDS:
        assert column in text


def test_delimiter_by_name_and_a_bad_one_is_a_usage_error(server: FakeServer, tmp_path: Path) -> None:
    path = _write(tmp_path, "external_id\tname,city\nC-1\t张伟,上海\n".encode())  # the header alone would say comma
    server.answers(200, OK)
    assert _import(server, path, "--delimiter", "tab").exit_code == 0
    assert server.received[0].body == 'external_id,"name,city"\nC-1,"张伟,上海"\n'.encode()
    refused = _import(server, path, "--delimiter", "ab")
    assert refused.exit_code == 2
    assert "--delimiter" in refused.output
    assert len(server.received) == 1


@pytest.mark.parametrize(("kind", "path", "key"), [
    ("vehicles", "/v1/vehicles/import", "vin"), ("deliveries", "/v1/deliveries/import", "vin"),
    ("visits", "/v1/service-visits/import", "ro_number"),
])
def test_vehicle_delivery_and_visit_imports_name_failed_rows_by_their_key(
        server: FakeServer, tmp_path: Path, kind: str, path: str, key: str) -> None:
    text = f"{key};visit_type\r\nK-1;repair\r\nK-2;oops\r\n" if key == "ro_number" else "vin;model\r\nV-1;a\r\nV-2;b\r\n"
    server.answers(200, {"created": 1, "updated": 0, "unchanged": 0, "failed": 1,
                         "errors": [{"row": 2, "field": "visit_type", "message": "not a visit type"}]})
    result = run("import", kind, str(_write(tmp_path, text.encode("gbk"), f"{kind}.csv")), "--dealer", "D",
                 "--url", server.url, "--key", "k")
    assert result.exit_code == 3, result.output
    [request] = server.received
    assert request.path == f"{path}?dealer_code=D" and request.headers["content-type"] == "text/csv"
    assert f"row 3 ({key} {'K-2' if key == 'ro_number' else 'V-2'}): visit_type: not a visit type" in result.stderr


def test_the_fact_imports_list_the_servers_columns() -> None:
    from cli.importer import FACT_COLUMNS
    from services.customer.fact_import import COLUMNS

    assert FACT_COLUMNS == COLUMNS
    for kind, columns in COLUMNS.items():
        text = run("import", kind, "--help").stdout
        assert all(column in text for column in columns), kind
