"""JSON columns are written by orjson (shared.db.json_text) and read back as the standard library
would have them: the same values, keys that are not strings turned into strings, text as it was."""

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import JSON, Column, Integer, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import json_text, new_metadata
from tests.support.databases import sessions_on_tables

METADATA = new_metadata()
VALUES = Table("json_values", METADATA, Column("id", Integer, primary_key=True), Column("value", JSON, nullable=False))

SAMPLES = [
    {"answers": {"advisor": {"courtesy": 9, "honesty": 10}}, "comment": "服务很好, café\n\"quoted\""},
    {1: "an int key", "nested": [1, 2.5, None, True, False, 1e16, -0.0, 12345678901234567]},
    ["a list", {"of": "objects"}],
    "a string alone",
]


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "json_columns", METADATA) as made:
        yield made


async def test_json_values_read_back_as_the_standard_library_would_have_them(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(insert(VALUES), [{"id": n, "value": value} for n, value in enumerate(SAMPLES)])
    async with sessions() as session:
        read = (await session.execute(select(VALUES.c.value).order_by(VALUES.c.id))).scalars().all()
    assert read == [json.loads(json.dumps(value)) for value in SAMPLES]


def test_the_text_is_json_any_reader_takes() -> None:
    for value in SAMPLES:
        assert json.loads(json_text(value)) == json.loads(json.dumps(value))
