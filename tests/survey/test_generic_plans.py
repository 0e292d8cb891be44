"""The submission's claim keeps its index on a long-lived connection (PostgreSQL).

A pooled connection prepares each statement once and, after five executions, may keep a generic
plan: one made without the parameters' values, from the table's size when it was planned. Planned
while the invitations were few (a new database, or one whose statistics are old), the claim could
pick any index starting with a column it compares, and a generic plan that chose the index by
status read every sent invitation at each claim until the connection closed: the survey bench fell
from 240 to 65 submissions a second over 30 s once connections stopped being replaced. The indexes
by status are partial (the due job's `scheduled`, the reminders' unreminded `sent`), so no plan of
the claim, which compares the status to a parameter, can use them.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Executable, event, text

from services.survey.repository import _CLAIM, SurveyRepository
from shared.auth import system_principal
from shared.db import _driver_statement, utcnow
from tests.support.databases import unit_database_url

from .conftest import survey_app

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def empty(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """The survey service's tables, migrated and empty: the state a generic plan is worst made in."""
    application = survey_app(await unit_database_url(tmp_path_factory, "survey_plans"))
    async with application.router.lifespan_context(application):
        yield application


async def explain_generic(driver: Any, sql: str, parameters: int) -> str:
    """EXPLAIN of `sql` (with `parameters` $n) as a cached generic plan: PREPAREd, then executed
    with every parameter NULL (a generic plan does not look at them). EXPLAIN of the statement
    itself would plan it for the values bound."""
    await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    await driver.execute(f"PREPARE generic_plan_probe AS {sql}")
    try:
        nulls = ", ".join(["NULL"] * parameters)
        return "\n".join(row[0] for row in await driver.fetch(f"EXPLAIN EXECUTE generic_plan_probe({nulls})"))
    finally:
        await driver.execute("DEALLOCATE generic_plan_probe")


async def generic_plan(app: FastAPI, statement: Executable, params: dict[str, Any]) -> str:
    """The generic plan of `statement` as the driver statements send it."""
    async with app.state.sessions() as session, session.begin():
        if session.bind.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        sql, args = _driver_statement(statement, session.bind.dialect).arguments(params)
        return await explain_generic(driver, sql, len(args))


async def generic_plans_of_calls(app: FastAPI, call: Callable[[SurveyRepository], Awaitable[Any]]) -> list[str]:
    """The generic plans, sequential scans off, of the statements reading invitations that `call`
    runs on a repository."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM invitations" in statement:
            statements.append((statement, parameters))

    async with app.state.sessions() as session, session.begin():
        if session.bind.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        event.listen(session.bind.sync_engine, "before_cursor_execute", record)
        try:
            await call(SurveyRepository(session, system_principal()))
        finally:
            event.remove(session.bind.sync_engine, "before_cursor_execute", record)
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        return [await explain_generic(driver, sql, len(params)) for sql, params in statements]


async def test_the_due_job_and_the_reminders_read_their_partial_indexes_in_a_generic_plan(empty: FastAPI) -> None:
    now = utcnow()
    [due] = await generic_plans_of_calls(empty, lambda repo: repo.due_invitations(now, 100))
    [reminders] = await generic_plans_of_calls(empty, lambda repo: repo.reminders_due(now, now, 100))
    assert "ix_invitations_scheduled_due" in due and "ix_invitations_unreminded_sent" in reminders, (due, reminders)


async def test_the_claims_generic_plan_finds_the_invitation_by_its_token_on_an_empty_table(empty: FastAPI) -> None:
    plan = await generic_plan(empty, _CLAIM, {"claim_token": "t", "claimed_at": utcnow()})
    assert "invitations_token_key" in plan, plan
