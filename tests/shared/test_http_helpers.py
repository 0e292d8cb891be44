import uuid
from datetime import UTC, datetime

import pytest

from shared.etag import check_version, etag_for
from shared.pagination import decode_cursor, encode_cursor
from shared.problems import BadRequest, PreconditionFailed, PreconditionRequired


def test_a_cursor_round_trips() -> None:
    moment, row_id = datetime(2026, 11, 22, 8, 30, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(moment, row_id)) == (moment, row_id)


def test_a_forged_cursor_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        decode_cursor("not-a-cursor")


class TestIfMatch:
    def test_the_current_etag_passes(self) -> None:
        check_version(etag_for(3), 3)
        check_version("W/" + etag_for(3), 3)

    def test_a_stale_etag_is_412(self) -> None:
        with pytest.raises(PreconditionFailed):
            check_version(etag_for(2), 3)

    def test_a_missing_if_match_is_428(self) -> None:
        with pytest.raises(PreconditionRequired):
            check_version(None, 3)
