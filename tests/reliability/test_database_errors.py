"""What a database error becomes at the API: caller input is a 4xx, a database that is away is a 503, never a 500."""

from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from asyncpg.exceptions import TooManyConnectionsError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.problems import install_problem_handlers


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


def driver_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, SimpleNamespace(sqlstate=sqlstate))


@pytest.mark.parametrize("exc,status", [
    (driver_error("22021"), 422),  # NUL in text: PostgreSQL cannot store it
    (driver_error("22P05"), 422),  # NUL in jsonb
    (driver_error("57P03"), 503),  # the server is starting up
    (driver_error("57P01"), 503),  # administrator shutdown (a restart)
    (driver_error("08006"), 503),  # connection failure
    (OperationalError("SELECT 1", {}, Exception("connection refused")), 503),
    (ConnectionRefusedError(111, "Connection refused"), 503),
    # No connection slot left on the server ("sorry, too many clients already"), as the driver raises it
    (DBAPIError("SELECT 1", {}, TooManyConnectionsError("sorry, too many clients already")), 503),
    (driver_error("53300"), 503),  # the same, as SQLAlchemy's asyncpg adapter wraps it
    (PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out"), 503),
    (driver_error("42P01"), 500),  # a missing table is our bug, and stays a 500
])
async def test_database_errors_become_the_right_problem(exc: Exception, status: int) -> None:
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
