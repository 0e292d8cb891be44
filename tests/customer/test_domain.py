"""Rules of the customer service, without HTTP or a database."""

from datetime import UTC, date, datetime

import pytest

from services.customer import domain
from services.customer.settings import CustomerSettings
from services.customer.followups import policy_from
from shared.org_path import OrgPath


class TestFollowUpPolicy:
    policy = domain.FollowUpPolicy()
    moment = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)

    def test_new_car_follow_up_is_due_three_days_after_delivery(self) -> None:
        assert self.policy.new_car_due(self.moment) == datetime(2026, 3, 13, 14, 30, tzinfo=UTC)

    def test_service_follow_up_is_due_three_days_after_closing(self) -> None:
        assert self.policy.service_due(self.moment) == datetime(2026, 3, 13, 14, 30, tzinfo=UTC)

    @pytest.mark.parametrize(("level", "days"), [("H", 2), ("A", 4), ("B", 7), ("C", 14)])
    def test_prospect_cadence_follows_the_level(self, level: str, days: int) -> None:
        assert (self.policy.prospect_due(level, self.moment) - self.moment).days == days

    def test_only_repair_and_warranty_visits_make_service_follow_ups(self) -> None:
        assert [t for t in ("maintenance", "repair", "warranty", "recall") if self.policy.makes_service_followup(t)] == ["repair", "warranty"]

    def test_settings_change_the_numbers(self) -> None:
        settings = CustomerSettings(new_car_followup_days=1, prospect_cadence_days={"H": 1, "A": 2, "B": 3, "C": 5})
        policy = policy_from(settings)
        assert policy.new_car_due(self.moment) == datetime(2026, 3, 11, 14, 30, tzinfo=UTC)
        assert (policy.prospect_due("C", self.moment) - self.moment).days == 5


class TestBirthdays:
    def test_birthday_matches_month_and_day(self) -> None:
        assert domain.is_birthday(date(1980, 6, 15), date(2026, 6, 15))
        assert not domain.is_birthday(date(1980, 6, 15), date(2026, 6, 16))

    def test_leap_day_birthday_is_celebrated_on_28_february_in_common_years(self) -> None:
        assert domain.is_birthday(date(1992, 2, 29), date(2026, 2, 28))
        assert (2, 29) in domain.birthday_month_days(date(2026, 2, 28))
        assert domain.birthday_month_days(date(2028, 2, 28)) == [(2, 28)]


class TestMasking:
    def test_contact_is_masked_without_pii_scope(self) -> None:
        assert domain.masked_contact("+8613812345678", "li.wei@example.com", pii=False) == ("+86138****5678", "l***@example.com")

    def test_contact_is_whole_with_pii_scope(self) -> None:
        assert domain.masked_contact("+8613812345678", "a@b.cn", pii=True) == ("+8613812345678", "a@b.cn")

    def test_a_hidden_name_keeps_its_first_character(self) -> None:
        assert (domain.masked_name("张三"), domain.masked_name("Li Wei")) == ("张*", "L*")

    def test_above_means_a_strict_prefix_of_the_records_path(self) -> None:
        record = "/FTMS/D-NORTH/DLR-0042/"
        assert OrgPath("/FTMS/").is_above(record) and OrgPath("/FTMS/D-NORTH/").is_above(record)
        assert not OrgPath(record).is_above(record)

    def test_a_person_is_shown_above_the_dealer_only_when_they_share(self) -> None:
        record = "/FTMS/D-NORTH/DLR-0042/"
        assert not domain.shows_person("/FTMS/", record, shares_with_manufacturer=False)
        assert domain.shows_person("/FTMS/", record, shares_with_manufacturer=True)
        assert domain.shows_person(record, record, shares_with_manufacturer=False)

    def test_erasure_clears_everything_that_names_the_person(self) -> None:
        values = domain.erased_values(datetime(2026, 1, 1, tzinfo=UTC))
        assert values["name"] == domain.ERASED_NAME
        assert all(values[name] is None for name in ("phone", "email", "birth_date", "city"))


class TestImportRowValidation:
    def test_good_row_is_normalised(self) -> None:
        row, errors = domain.validate_import_row(1, {
            "external_id": " C-1 ", "name": "Wang Fang", "phone": "138 1234 5678", "email": "W@Example.COM",
            "birth_date": "1990-01-31", "city": "", "consent_survey": "yes", "consent_marketing": "0",
        })
        assert errors == []
        assert row == (1, "C-1", "Wang Fang", "+8613812345678", "W@example.com", date(1990, 1, 31), None, True, False, None)

    def test_bad_values_are_reported_per_field(self) -> None:
        row, errors = domain.validate_import_row(7, {
            "external_id": "C-2", "name": "", "phone": "12345", "email": "nope", "birth_date": "31/01/1990",
            "consent_survey": "maybe",
        })
        assert row is None
        assert {field for field, _ in errors} == {"name", "phone", "email", "birth_date", "consent_survey"}

    def test_future_birth_date_is_refused(self) -> None:
        _, errors = domain.validate_import_row(1, {"external_id": "C", "name": "N", "birth_date": "2999-01-01"})
        assert [field for field, _ in errors] == ["birth_date"]

    def test_nested_consent_in_json_lines_is_flattened(self) -> None:
        raw = domain.flatten_consent({"external_id": "C", "name": "N", "consent": {"survey": True}})
        assert raw["consent_survey"] is True and "consent" not in raw

    def test_unknown_columns_are_named(self) -> None:
        assert domain.unknown_import_fields(["external_id", "name", "shoe_size"]) == ["shoe_size"]
