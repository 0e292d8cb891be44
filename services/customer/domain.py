"""The customer service's rules: follow-up due dates, masking, erasure, import row checks.

No HTTP and no SQL here: plain functions on values, so they are cheap to test.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator

from shared.org_path import OrgPath
from shared.types import mask_email, mask_phone, normalise_phone

# --- simple value checks (shared by the API schemas and the importer) -------------------

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def validate_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("not an email address")
    local, domain = email.split("@", 1)
    return f"{local}@{domain.lower()}"


Email = Annotated[str, AfterValidator(validate_email)]


def past_birth_date(value: date, today: date | None = None) -> date:
    if value > (today or date.today()) or value.year < 1900:
        raise ValueError("a birth date lies between 1900 and today")
    return value


# --- follow-up due dates -------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpPolicy:
    """The numbers of DOMAIN.md, as configured (CSLOOP_* settings)."""

    new_car_days: int = 3
    service_days: int = 3
    prospect_cadence_days: tuple[tuple[str, int], ...] = (("H", 2), ("A", 4), ("B", 7), ("C", 14))
    service_visit_types: frozenset[str] = frozenset({"repair", "warranty"})

    def new_car_due(self, delivered_at: datetime) -> datetime:
        return delivered_at + timedelta(days=self.new_car_days)

    def service_due(self, closed_at: datetime) -> datetime:
        return closed_at + timedelta(days=self.service_days)

    def makes_service_followup(self, visit_type: str, *, maintenance_followups: bool = False) -> bool:
        """Repairs and warranty work by default; maintenance too where the dealer's desk settings say so."""
        return visit_type in self.service_visit_types or (visit_type == "maintenance" and maintenance_followups)

    def prospect_due(self, level: str, since: datetime) -> datetime:
        return since + timedelta(days=dict(self.prospect_cadence_days)[level])


def birthday_in(birth_date: date, year: int) -> date:
    """The day a birthday is celebrated in `year`; 29 February falls on 28 February otherwise."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def is_birthday(birth_date: date, today: date) -> bool:
    return birthday_in(birth_date, today.year) == today


def birthday_month_days(today: date) -> list[tuple[int, int]]:
    """(month, day) pairs of birth dates celebrated today: 28 Feb also takes 29 Feb in common years."""
    pairs = [(today.month, today.day)]
    if today.month == 2 and today.day == 28 and not _leap(today.year):
        pairs.append((2, 29))
    return pairs


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def followup_key(kind: str, *parts: object) -> str:
    """The dedupe key of a follow-up: one task per delivery, closed visit, birthday year..."""
    return ":".join([kind, *(str(part) for part in parts)])


# --- personal data -------------------------------------------------------------------------

ERASED_NAME = "(erased)"


def masked_contact(phone: str | None, email: str | None, *, pii: bool) -> tuple[str | None, str | None]:
    """Phone and email as a caller may see them: whole only when `pii` says so."""
    if pii:
        return phone, email
    return mask_phone(phone), mask_email(email)


def masked_name(name: str) -> str:
    """A person hidden from a caller: the first character ("张*"), enough to greet, not to identify."""
    return name[:1] + "*"


def shows_person(caller_path: str, record_path: str, *, shares_with_manufacturer: bool) -> bool:
    """API.md: above the dealer (a manufacturer, a distributor; not the dealer itself), a person is
    shown only when they share with the manufacturer."""
    return shares_with_manufacturer or not OrgPath(caller_path).is_above(record_path)


def erased_values(now: datetime) -> dict[str, Any]:
    """What an erased customer keeps: id, dealer, consent-free facts; nothing that names them."""
    return {
        "name": ERASED_NAME, "phone": None, "email": None, "birth_date": None, "city": None,
        "consent_survey": False, "consent_marketing": False, "consent_share_with_manufacturer": False,
        "erased_at": now,
    }


# --- import rows ---------------------------------------------------------------------------

IMPORT_FIELDS = (
    "external_id", "name", "phone", "email", "birth_date", "city",
    "consent_survey", "consent_marketing", "consent_share_with_manufacturer",
)
_CONSENT_FIELDS = IMPORT_FIELDS[6:]
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_LENGTH = {"external_id": 100, "name": 200, "city": 100}

# One validated row, in the column order of the staging table:
# (row, external_id, name, phone, email, birth_date, city, survey, marketing, share)
ImportRow = tuple[int, str, str, str | None, str | None, date | None, str | None, bool | None, bool | None, bool | None]


def unknown_import_fields(names: list[str]) -> list[str]:
    return [name for name in names if name not in IMPORT_FIELDS and name != "consent"]


def flatten_consent(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON Lines may nest consent as {"consent": {"survey": true}}; CSV uses consent_* columns."""
    consent = raw.pop("consent", None)
    if isinstance(consent, dict):
        for key, value in consent.items():
            raw[f"consent_{key}"] = value
    return raw


def validate_import_row(row: int, raw: dict[str, Any], today: date | None = None) -> tuple[ImportRow | None, list[tuple[str, str]]]:
    """Check one import row by hand: a 100,000-row file makes per-row cost the import's speed.

    Empty values mean "not given": the import never clears a stored field.
    """
    errors: list[tuple[str, str]] = []
    get = raw.get
    external_id, name = _text(get("external_id"), "external_id", errors), _text(get("name"), "name", errors)
    city = _text(get("city"), "city", errors)
    for field_name, value in (("external_id", external_id), ("name", name)):
        if value is None and not errors:
            errors.append((field_name, "required"))
    for field_name, value in (("external_id", external_id), ("name", name), ("city", city)):
        if value is not None and len(value) > _MAX_LENGTH[field_name]:
            errors.append((field_name, f"at most {_MAX_LENGTH[field_name]} characters"))
    phone = _convert(_text(get("phone"), "phone", errors), normalise_phone, "phone", errors)
    email = _convert(_text(get("email"), "email", errors), validate_email, "email", errors)
    birth = _text(get("birth_date"), "birth_date", errors)
    if birth is not None:
        birth = _convert(birth, lambda value: _parse_birth_date(value, today or date.today()), "birth_date", errors)
    survey = _boolean(get("consent_survey"), "consent_survey", errors)
    marketing = _boolean(get("consent_marketing"), "consent_marketing", errors)
    share = _boolean(get("consent_share_with_manufacturer"), "consent_share_with_manufacturer", errors)
    if errors:
        return None, errors
    return (row, external_id, name, phone, email, birth, city, survey, marketing, share), []  # type: ignore[return-value]


def _text(value: Any, name: str, errors: list[tuple[str, str]]) -> str | None:
    if value.__class__ is str:  # the common case first: every CSV value is a string
        if "\x00" in value:  # PostgreSQL text cannot hold it: a row error, not a failed import
            errors.append((name, "contains a NUL character"))
            return None
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.append((name, "must be a string"))
        return None
    return str(value).strip() or None


def _convert(value: str | None, convert: Any, name: str, errors: list[tuple[str, str]]) -> Any:
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError as exc:
        errors.append((name, str(exc) or "invalid"))
        return None


def _parse_birth_date(value: str, today: date) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("a date is YYYY-MM-DD") from None
    return past_birth_date(parsed, today)


def _boolean(value: Any, name: str, errors: list[tuple[str, str]]) -> bool | None:
    if value is None or value is True or value is False:
        return value
    text = value.strip().lower() if value.__class__ is str else str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors.append((name, "must be true or false"))
    return None
