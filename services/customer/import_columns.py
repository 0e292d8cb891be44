"""Checking an import's CSV rows a chunk at a time, column by column.

A 100,000-row file makes per-row cost the import's speed. Here each column of a chunk is
checked in one pass (a list comprehension over its values, a C-level test where there is one:
`"\x00" in "".join(values)`, `max(map(len, ...))`), so a good chunk becomes staging tuples with
no per-row dict, error list or closure. The checks only vouch for values the domain's row
check (`domain.validate_import_row`) accepts as they are; any row one of them doubts is
checked again by that function, which gives the row its errors in the domain's words. The
two cannot disagree on a bad row, and a good row gets the same values either way.
"""

from collections.abc import Iterator
from datetime import date
from itertools import compress
from typing import Any

from services.customer import domain
from services.customer.domain import ImportRow, validate_email
from shared.types import normalise_phone

RowErrors = list[tuple[str, str]]
_BAD = object()  # a value a column check does not vouch for
_REQUIRED = ("external_id", "name")
_LIMITS = (("external_id", 100), ("name", 200), ("city", 100))  # as the customers table's columns
_CONSENTS = ("consent_survey", "consent_marketing", "consent_share_with_manufacturer")


def _phone(value: str | None) -> Any:
    if value is None:
        return None
    # A mainland mobile, as DMS exports write it, without the regular expression of normalise_phone.
    if len(value) == 11 and value[0] == "1" and value[1] in "3456789" and value.isdecimal():
        return "+86" + value
    try:
        return normalise_phone(value)
    except ValueError:
        return _BAD


def _email(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return validate_email(value)
    except ValueError:
        return _BAD


def _birth_date(value: str | None, today: date) -> Any:
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return _BAD
    return parsed if 1900 <= parsed.year and parsed <= today else _BAD


def _consent_spellings(values: set[str | None]) -> dict[str | None, Any]:
    """What each distinct spelling in a consent column means, asked of the domain's row check
    (a column holds a handful: `true`, `false`, empty)."""
    meaning: dict[str | None, Any] = {}
    for value in values:
        row, errors = domain.validate_import_row(0, {"external_id": "x", "name": "x", "consent_survey": value})
        meaning[value] = _BAD if errors or row is None else row[7]
    return meaning


class ChunkChecker:
    """Checks a CSV file's chunks in order; remembers external ids and phones across them
    (a file names each customer once, and a phone belongs to one of its customers)."""

    def __init__(self, header: list[str], today: date) -> None:
        self._header = header
        self._today = today
        self._external: dict[str, int] = {}
        self._phones: dict[str, tuple[str, int]] = {}

    def check(self, numbers: list[int], rows: list[list[str]]) -> tuple[list[ImportRow], list[tuple[int, RowErrors]]]:
        """Good rows as staging tuples, and the errors of the others, for rows of the header's width."""
        count = len(rows)
        given = dict(zip(self._header, zip(*rows))) if rows else {}
        doubtful = bytearray(count)  # 1: checked again row by row

        def texts(name: str) -> list[Any]:
            values = given.get(name)
            if values is None:
                return [None] * count
            if "\x00" in "".join(values):  # PostgreSQL text cannot hold it
                for position, value in enumerate(values):
                    if "\x00" in value:
                        doubtful[position] = 1
            return [value.strip() or None for value in values]

        columns = {name: texts(name) for name in domain.IMPORT_FIELDS}
        for name in _REQUIRED:
            if None in columns[name]:
                self._doubt(doubtful, columns[name], None)
        for name, limit in _LIMITS:
            if max(map(len, filter(None, columns[name])), default=0) > limit:
                for position, value in enumerate(columns[name]):
                    if value is not None and len(value) > limit:
                        doubtful[position] = 1
        columns["phone"] = list(map(_phone, columns["phone"]))
        columns["email"] = list(map(_email, columns["email"]))
        today = self._today
        columns["birth_date"] = [_birth_date(value, today) for value in columns["birth_date"]]
        for name in _CONSENTS:
            if (raw := given.get(name)) is not None:  # the raw values: the domain strips and lowers them itself
                meaning = _consent_spellings(set(raw))
                columns[name] = [meaning[value] for value in raw]
        for name in ("phone", "email", "birth_date", *_CONSENTS):
            if _BAD in columns[name]:
                self._doubt(doubtful, columns[name], _BAD)

        checked = list(zip(numbers, *(columns[name] for name in domain.IMPORT_FIELDS)))
        failed: list[tuple[int, RowErrors]] = []
        if any(doubtful):
            checked = self._recheck(checked, doubtful, rows, failed)
        return self.deduplicated(checked, failed), failed

    @staticmethod
    def _doubt(doubtful: bytearray, values: list[Any], marker: Any) -> None:
        for position, value in enumerate(values):
            if value is marker:
                doubtful[position] = 1

    def _recheck(self, checked: list[Any], doubtful: bytearray, rows: list[list[str]],
                 failed: list[tuple[int, RowErrors]]) -> list[Any]:
        """The doubted rows through the domain's row check: their errors, or (if it finds none) the row."""
        kept = list(compress(checked, (not flag for flag in doubtful)))
        for position in (position for position, flag in enumerate(doubtful) if flag):
            number = checked[position][0]
            row, errors = domain.validate_import_row(number, dict(zip(self._header, rows[position])), self._today)
            if row is None:
                failed.append((number, errors))
            else:
                kept.append(row)
        kept.sort(key=lambda row: row[0])
        return kept

    def deduplicated(self, checked: list[Any], failed: list[tuple[int, RowErrors]]) -> list[ImportRow]:
        """The rows that repeat no external id or phone of the file; the others fail."""
        external_ids = [row[1] for row in checked]
        phones = [row[3] for row in checked if row[3] is not None]
        if (len(set(external_ids)) == len(external_ids) and self._external.keys().isdisjoint(external_ids)
                and len(set(phones)) == len(phones) and self._phones.keys().isdisjoint(phones)):
            self._external.update((row[1], row[0]) for row in checked)
            self._phones.update((row[3], (row[1], row[0])) for row in checked if row[3] is not None)
            return checked
        kept = []
        for row in checked:  # a repeat somewhere in the chunk: row by row, in file order
            if errors := self._repeats(row):
                failed.append((row[0], errors))
            else:
                kept.append(row)
        return kept

    def _repeats(self, row: ImportRow) -> RowErrors:
        number, external_id, phone = row[0], row[1], row[3]
        if (first := self._external.get(external_id)) is not None:
            return [("external_id", f"duplicate of row {first}")]
        if phone is not None and (owner := self._phones.get(phone)) and owner[0] != external_id:
            return [("phone", f"same phone as row {owner[1]}")]
        self._external[external_id] = number
        if phone is not None:
            self._phones[phone] = (external_id, number)
        return []


def numbered_chunks(reader: Iterator[list[str]], width: int, chunk_rows: int,
                    failed: list[tuple[int, RowErrors]]) -> Iterator[tuple[list[int], list[list[str]]]]:
    """The data rows in chunks with their numbers (row 1 the first after the header); a row of
    another width than the header's fails here, a blank line is skipped."""
    numbers: list[int] = []
    rows: list[list[str]] = []
    for number, values in enumerate(reader, start=1):
        if len(values) != width:
            if values:
                failed.append((number, [("row", f"has {len(values)} values, the header {width}")]))
            continue
        numbers.append(number)
        rows.append(values)
        if len(rows) >= chunk_rows:
            yield numbers, rows
            numbers, rows = [], []
    if rows:
        yield numbers, rows
