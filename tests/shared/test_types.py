from datetime import UTC, datetime

import pytest

from shared.types import Period, mask_email, mask_phone, normalise_phone, validate_org_code, validate_vin, vin_check_digit


class TestVin:
    def test_accepts_a_vin_with_the_right_check_digit(self) -> None:
        assert validate_vin("1m8gdm9axkp042788") == "1M8GDM9AXKP042788"

    def test_refuses_a_wrong_check_digit(self) -> None:
        with pytest.raises(ValueError, match="check digit"):
            validate_vin("1M8GDM9A1KP042788")

    def test_refuses_letters_i_o_q_and_wrong_lengths(self) -> None:
        for bad in ("1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "IM8GDM9AXKP042788"):
            with pytest.raises(ValueError):
                validate_vin(bad)

    def test_check_digit_ten_is_x(self) -> None:
        assert vin_check_digit("1M8GDM9AXKP042788") == "X"


class TestPhone:
    def test_mainland_mobile_in_any_common_spelling_becomes_e164(self) -> None:
        for spelling in ("13812345678", "+8613812345678", "86 138 1234 5678", "138-1234-5678"):
            assert normalise_phone(spelling) == "+8613812345678"

    def test_landline_and_foreign_numbers_go_through_the_full_parser(self) -> None:
        assert normalise_phone("010 6552 9988") == "+861065529988"
        assert normalise_phone("+1 650 253 0000") == "+16502530000"

    def test_refuses_what_is_not_a_phone_number(self) -> None:
        for bad in ("12345", "not a phone", "+86 120 0000 0000"):
            with pytest.raises(ValueError):
                normalise_phone(bad)

    def test_masks_keep_only_enough_to_recognise(self) -> None:
        assert mask_phone("+8613812345678") == "+86138****5678"
        assert mask_email("zhang.wei@example.cn") == "z***@example.cn"


class TestPeriod:
    def test_month_quarter_and_year_are_half_open_intervals(self) -> None:
        assert Period.parse("2026-12").end == datetime(2027, 1, 1, tzinfo=UTC)
        quarter = Period.parse("2026-Q2")
        assert (quarter.start, quarter.end) == (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
        year = Period.parse("2025")
        assert (year.start, year.end) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))

    def test_refuses_other_spellings(self) -> None:
        for bad in ("2026-13", "2026-Q5", "26-01", "2026-1"):
            with pytest.raises(ValueError):
                Period.parse(bad)


def test_org_codes_are_normalised_to_capitals_and_checked() -> None:
    assert validate_org_code("dlr-0042") == "DLR-0042"
    with pytest.raises(ValueError):
        validate_org_code("has space")
