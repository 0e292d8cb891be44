"""The column-wise checks of an import chunk agree with the domain's row check, row for row."""

from datetime import date

from services.customer import domain
from services.customer.import_columns import ChunkChecker

HEADER = list(domain.IMPORT_FIELDS)
TODAY = date(2026, 6, 1)
ROWS = [
    ["E1", " Zhang ", "13812345678", "A@Example.COM", "1980-02-03", "Tianjin", "true", "no", ""],
    ["E2", "Li", "+86 138 1234 5679", "", "", "", "Yes", "0", "T"],
    ["E3", "", "", "", "", "", "", "", ""],  # no name
    ["E4", "N", "12345", "bad", "03/02/1980", "", "maybe", "", ""],
    ["E5", "N" * 201, "", "", "2030-01-01", "", "", "", ""],
    ["E6", "N\x00", "", "", "1899-12-31", "C" * 101, "", "", ""],
    ["E7", "Wang", "021 6234 5678", "", "19800203", "", "1", "1", "1"],
    ["E1", "Again", "", "", "", "", "", "", ""],  # repeats row 1's external id
    ["E9", "Zhao", "13812345678", "", "", "", "", "", ""],  # row 1's phone
]


def test_each_row_gets_what_the_domain_check_gives_it() -> None:
    checker = ChunkChecker(HEADER, TODAY)
    good, failed = checker.check(list(range(1, len(ROWS) + 1)), [list(row) for row in ROWS])
    expected_good, expected_failed = [], []
    for number, values in enumerate(ROWS[:7], start=1):
        row, errors = domain.validate_import_row(number, dict(zip(HEADER, values)), TODAY)
        (expected_good.append(row) if row else expected_failed.append((number, errors)))
    assert good == expected_good and [row[0] for row in good] == [1, 2, 7]
    assert sorted(failed) == sorted([*expected_failed, (8, [("external_id", "duplicate of row 1")]),
                                     (9, [("phone", "same phone as row 1")])])


def test_repeats_are_found_across_chunks() -> None:
    checker = ChunkChecker(HEADER, TODAY)
    checker.check([1], [list(ROWS[0])])
    good, failed = checker.check([2, 3], [list(ROWS[7]), list(ROWS[8])])
    assert good == [] and [number for number, _ in failed] == [2, 3]


def test_a_header_without_the_optional_columns() -> None:
    good, failed = ChunkChecker(["name", "external_id"], TODAY).check([1], [["Sun", "X1"]])
    assert failed == [] and good == [(1, "X1", "Sun", None, None, None, None, None, None, None)]
