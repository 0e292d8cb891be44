"""A CSV file as Excel writes it, read on the client: which encoding and separator it uses, and
the same records re-written as UTF-8 with commas, which is all the import endpoints read.

Excel on Chinese Windows saves "CSV" in GBK (GB18030 is its superset), elsewhere in UTF-8 with
or without a byte-order mark, or as "Unicode text" (UTF-16, tabs); in locales whose decimal
mark is a comma it separates with semicolons.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from cli.errors import CommandFailed

SAMPLE_BYTES = 1024 * 1024
CHUNK_CHARS = 256 * 1024
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# What charset-normalizer chooses between: a file either decodes as UTF-8 or is GBK/GB18030.
CANDIDATES = ["utf_8", "gb18030"]
_PYTHON_NAMES = {"utf_8": "utf-8", "gb18030": "gb18030"}


@dataclass(frozen=True)
class CsvFormat:
    encoding: str  # a Python codec name
    delimiter: str

    def describe(self) -> str:
        return f"{self.encoding}, {DELIMITERS.get(self.delimiter, repr(self.delimiter))}-separated"


def detect(path: Path, encoding: str | None = None, delimiter: str | None = None) -> CsvFormat:
    """The file's encoding and separator; what the caller gives wins over what is detected."""
    with path.open("rb") as source:
        sample = source.read(SAMPLE_BYTES)
        whole = len(sample) < SAMPLE_BYTES
    if encoding is None:
        encoding = detect_encoding(sample, whole, path.name)
    else:
        _check_codec(encoding)
    if delimiter is None:
        delimiter = detect_delimiter(sample.decode(encoding, errors="replace"))
    return CsvFormat(encoding, delimiter)


def detect_encoding(sample: bytes, whole: bool, name: str = "the file") -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"  # the mark is dropped, not sent as part of the first column's name
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not whole and b"\n" in sample:
        # Cut at a line end: a multi-byte character cut in half would make UTF-8 look invalid.
        # (0x0A is never part of a UTF-8 or GB18030 multi-byte sequence.)
        sample = sample[:sample.rindex(b"\n") + 1]
    best = from_bytes(sample, cp_isolation=CANDIDATES).best()
    if best is None:
        raise CommandFailed(f"cannot tell the encoding of {name}: it is neither UTF-8 nor GBK/GB18030; "
                            f"pass --encoding (e.g. --encoding cp1252)")
    return _PYTHON_NAMES.get(best.encoding, best.encoding)


def detect_delimiter(text: str) -> str:
    """The separator the header row uses most: column names never contain one, where data values
    (addresses, names) may, so the header decides rather than a guess over the data rows."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","  # a single column: any separator reads it


def _check_codec(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise CommandFailed(f"unknown --encoding {encoding!r}") from exc


def utf8_csv(path: Path, fmt: CsvFormat, read_so_far: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The file's records as UTF-8 comma-separated CSV, in chunks. Every record stays one
    record, blank lines included, so the server's record numbers are the file's."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=fmt.encoding, newline="")
        reader = csv.reader(text, delimiter=fmt.delimiter)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        try:
            for record in reader:
                writer.writerow(record)
                if out.tell() >= CHUNK_CHARS:
                    yield _drain(out)
                    if read_so_far:
                        read_so_far(raw.tell())
        except UnicodeDecodeError as exc:
            raise CommandFailed(f"{path.name} line {_first_undecodable_line(path, fmt.encoding)} is not "
                                f"{fmt.encoding} ({exc.reason}): pass --encoding") from exc
        except csv.Error as exc:
            raise CommandFailed(f"{path.name} line {reader.line_num}: {exc}") from exc
        yield _drain(out)
        if read_so_far:
            read_so_far(raw.tell())


def _first_undecodable_line(path: Path, encoding: str) -> int:
    """Where decoding fails, read again line by line (the streaming decoder works in blocks)."""
    decoder, line = codecs.getincrementaldecoder(encoding)(), 1
    with path.open("rb") as raw:
        for chunk in raw:
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError:
                break
    return line


def _drain(out: io.StringIO) -> bytes:
    chunk = out.getvalue().encode("utf-8")
    out.seek(0)
    out.truncate()
    return chunk


def column_values(path: Path, fmt: CsvFormat, column: str, records: set[int]) -> dict[int, str]:
    """`column` of the given data records (1 = the first record after the header), read again
    from the file: only the failed rows' values are ever held."""
    found: dict[int, str] = {}
    if not records:
        return found
    with path.open("r", encoding=fmt.encoding, errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=fmt.delimiter)
        header = [name.strip().lower() for name in next(reader, [])]
        if column not in header:
            return found
        index, last = header.index(column), max(records)
        for number, values in enumerate(reader, start=1):
            if number in records and index < len(values):
                found[number] = values[index].strip()
            if number >= last:
                break
    return found
