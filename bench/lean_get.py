"""The lean reference for a GET of one customer: the same unit of work with nothing around it.

    python -m bench.lean_get --port 9000 --dsn postgresql://csloop_app@127.0.0.1:5432/db --secret S

FastAPI + asyncpg, served as the services are (uvicorn, uvloop, httptools, one process): the
same internal-token check (shared.auth.TokenVerifier, cached), a transaction with the same
row-level-security setting, the same row, the same masking rule, the same JSON fields. No ORM,
no middleware, no outbox, no metrics, no problem handlers: what `bench.proxy_get` measures the
customer service and the gateway against.
"""

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Header, HTTPException

from services.customer import domain
from shared.auth import TokenVerifier
from shared.rls import SETTING

SELECT_CUSTOMER = """SELECT id, external_id, dealer_code, org_path, name, phone, email, birth_date, city, erased_at,
    consent_survey, consent_marketing, consent_share_with_manufacturer, version, created_at, updated_at
    FROM customers WHERE id = $1 AND starts_with(org_path, $2)"""


def lean_app(dsn: str, secret: str) -> FastAPI:
    verifier = TokenVerifier(secret)
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        yield
        await pool["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/v1/customers/{customer_id}")
    async def get_customer(customer_id: uuid.UUID, x_internal_token: str = Header()) -> dict[str, Any]:
        principal = verifier.verify(x_internal_token)
        async with pool["db"].acquire() as connection, connection.transaction():
            await connection.execute("SELECT set_config($1, $2, true)", SETTING, principal.org_path)
            row = await connection.fetchrow(SELECT_CUSTOMER, customer_id, principal.org_path)
        if row is None:
            raise HTTPException(404)
        person = row["erased_at"] is not None or domain.shows_person(
            principal.org_path, row["org_path"], shares_with_manufacturer=row["consent_share_with_manufacturer"])
        phone, email = domain.masked_contact(row["phone"], row["email"], pii=principal.has_scope("pii:read") and person)
        return {
            "id": row["id"], "external_id": row["external_id"], "dealer_code": row["dealer_code"],
            "org_path": row["org_path"], "name": row["name"] if person else domain.masked_name(row["name"]),
            "phone": phone, "email": email, "birth_date": row["birth_date"] if person else None, "city": row["city"],
            "erased": row["erased_at"] is not None,
            "consent": {"survey": row["consent_survey"], "marketing": row["consent_marketing"],
                        "share_with_manufacturer": row["consent_share_with_manufacturer"]},
            "version": row["version"], "created_at": row["created_at"], "updated_at": row["updated_at"],
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(lean_app(args.dsn, args.secret), host="127.0.0.1", port=args.port, log_config=None,
                access_log=False, loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
