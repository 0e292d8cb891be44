"""Value types that cross service boundaries: VIN, phone, money, org code, reporting period."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, Field

# --- Money ------------------------------------------------------------------------------

# Money is integer minor units (fen, cents). The bound is the largest integer a JSON client
# holds exactly (2**53 - 1, far above any invoice) and fits the BIGINT columns, so a body such
# as `1e30` is a 422 and never reaches the database as an out-of-range value.
MAX_MINOR_UNITS = 2**53 - 1
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]

# --- VIN (ISO 3779; GB 16735 makes position 9 a check digit) -------------------------

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(value: str) -> str:
    vin = value.strip().upper()
    if len(vin) != 17:
        raise ValueError("a VIN has 17 characters")
    if any(char not in _VIN_VALUES for char in vin):
        raise ValueError("a VIN uses digits and capital letters except I, O and Q")
    if vin[8] != vin_check_digit(vin):
        raise ValueError(f"VIN check digit (position 9) should be {vin_check_digit(vin)}")
    return vin


VIN = Annotated[str, AfterValidator(validate_vin)]

# --- Phone (E.164; China is the default region) ----------------------------------------

DEFAULT_PHONE_REGION = "CN"
# Mainland mobile numbers are most of what DMS exports carry; they normalise without the
# general parser, which is the slow part of a 100,000-row import.
_CN_MOBILE = re.compile(r"^(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})$")


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    text = value.strip()
    if match := _CN_MOBILE.match(text):
        return "+86" + "".join(match.groups())
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, AfterValidator(normalise_phone)]


def mask_phone(phone: str | None) -> str | None:
    """+8613812345678 -> +86138****5678: enough to recognise, not enough to call."""
    if not phone:
        return phone
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


# --- Organisation code (the org path is shared/org_path.py) ------------------------------

ORG_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{0,39}$"
_ORG_CODE = re.compile(ORG_CODE_PATTERN)


def validate_org_code(value: str) -> str:
    code = value.strip().upper()
    if not _ORG_CODE.match(code):
        raise ValueError("an org code is 1-40 capital letters, digits, '-' or '_'")
    return code


OrgCode = Annotated[str, AfterValidator(validate_org_code)]


# --- Reporting period --------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


@dataclass(frozen=True)
class Period:
    """`YYYY-MM`, `YYYY-Qn` or `YYYY`, as the half-open UTC interval [start, end)."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, label: str) -> "Period":
        match = _PERIOD.match(label.strip())
        if not match:
            raise ValueError("a period is YYYY-MM, YYYY-Qn or YYYY")
        year, month, quarter = int(match[1]), match[2], match[3]
        if month:
            first, months = int(month), 1
        elif quarter:
            first, months = 3 * (int(quarter) - 1) + 1, 3
        else:
            first, months = 1, 12
        start = date(year, first, 1)
        end_month = first + months
        end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
        return cls(label.strip(), _midnight(start), _midnight(end))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
