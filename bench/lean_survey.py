"""The lean reference of a public survey submission: FastAPI and asyncpg, nothing else.

    .venv/bin/python -m bench.lean_survey --port 9000 --database-url postgresql://csloop_app@127.0.0.1/db_survey

`POST /v1/public/surveys/{token}/responses` doing the survey service's unit of work on the
survey service's own database, as the same plain role (row-level security binds it): in one
transaction, the system's `set_config('csloop.org_path', '/', true)`, the invitation claimed
by its token with one `UPDATE ... RETURNING`, the answers validated, scored and alert-checked
by the survey service's own functions against the pinned version (parsed once per process: a
published version never changes), the response INSERTed and `survey.response.submitted` (and
`survey.alert.raised` when a rule fired) INSERTed into the outbox in one statement. Six round
trips. The answer is the service's body: the stored answers and the rounded scores.

What it leaves out is what a lean endpoint may leave out: the ORM, pydantic models of the
body and the events, the middleware (request ids, metrics, idempotency keys, tracing), and
every answer but the happy path's (an unknown, used or expired token is a bare 404).
"""

import argparse
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.survey import alerts, scoring, validation
from services.survey.definition import Definition
from shared.problems import UnprocessableContent

CLAIM = """
UPDATE invitations SET status = 'responded', responded_at = $2, updated_at = $2
WHERE token = $1 AND status = 'sent' AND expires_at > $2
RETURNING id, survey_id, survey_version, kind, customer_id, dealer_code, org_path, vin, ro_number
"""
VERSION = """
SELECT v.definition, s.code FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
WHERE v.survey_id = $1 AND v.number = $2
"""
INSERT_RESPONSE = """
INSERT INTO survey_responses (id, invitation_id, survey_id, survey_version, kind, customer_id, dealer_code, org_path,
    vin, ro_number, submitted, answers, scores, score_index, nps_category, alerts, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
"""
OUTBOX_COLUMNS = "(event_id, type, payload, created_at, next_attempt_at, attempts)"


def outbox_insert(rows: int) -> str:
    """One INSERT of `rows` outbox rows (one or two: the submission, and the alert when one fired)."""
    values = ", ".join(f"(${4 * i + 1}, ${4 * i + 2}, ${4 * i + 3}, ${4 * i + 4}, ${4 * i + 4}, 0)"
                       for i in range(rows))
    return f"INSERT INTO outbox {OUTBOX_COLUMNS} VALUES {values}"


def cloud_event(type_: str, subject: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/csloop/survey", "type": type_,
            "subject": subject, "time": now.isoformat(), "datacontenttype": "application/json", "data": data}


def events(invitation: asyncpg.Record, response_id: uuid.UUID, code: str, scores: dict[str, Any],
           reasons: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    common = {
        "dealer_code": invitation["dealer_code"], "org_path": invitation["org_path"],
        "survey_id": str(invitation["survey_id"]), "survey_code": code,
        "survey_version": invitation["survey_version"], "kind": invitation["kind"],
        "customer_id": str(invitation["customer_id"]) if invitation["customer_id"] else None,
        "vin": invitation["vin"], "ro_number": invitation["ro_number"], "response_id": str(response_id),
        "submitted_at": now.isoformat(), "scores": scores,
    }
    subject = f"survey-responses/{response_id}"
    found = [cloud_event("survey.response.submitted", subject, {**common, "invitation_id": str(invitation["id"])}, now)]
    if level := alerts.priority(reasons):
        found.append(cloud_event("survey.alert.raised", subject, {**common, "reasons": reasons, "priority": level}, now))
    return found


async def _json_codec(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def create_app(database_url: str) -> FastAPI:
    definitions: dict[tuple[uuid.UUID, int], tuple[Definition, str]] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # As many connections as the service's pool holds at most; idle ones close, as its overflow does.
        app.state.pool = await asyncpg.create_pool(database_url, min_size=0, max_size=20, init=_json_codec,
                                                   max_inactive_connection_lifetime=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    async def pinned(connection: asyncpg.Connection, survey_id: uuid.UUID, number: int) -> tuple[Definition, str]:
        if (survey_id, number) not in definitions:
            row = await connection.fetchrow(VERSION, survey_id, number)
            definitions[survey_id, number] = Definition.model_validate(row["definition"]), row["code"]
        return definitions[survey_id, number]

    @app.post("/v1/public/surveys/{token}/responses", status_code=201)
    async def submit(token: str, request: Request) -> Response:
        submitted = (await request.json()).get("answers")
        if not isinstance(submitted, dict):
            return JSONResponse({"title": "answers: expected an object"}, status_code=422)
        now = datetime.now(UTC)
        response_id = uuid.uuid4()
        try:
            async with app.state.pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT set_config('csloop.org_path', '/', true)")
                invitation = await connection.fetchrow(CLAIM, token, now)
                if invitation is None:
                    return JSONResponse({"title": "Unknown survey link"}, status_code=404)
                definition, code = await pinned(connection, invitation["survey_id"], invitation["survey_version"])
                answers = validation.clean_answers(definition, submitted)
                scores = scoring.score(definition, answers)
                reasons = alerts.reasons(definition, answers, scores)
                await connection.execute(
                    INSERT_RESPONSE, response_id, invitation["id"], invitation["survey_id"],
                    invitation["survey_version"], invitation["kind"], invitation["customer_id"],
                    invitation["dealer_code"], invitation["org_path"], invitation["vin"], invitation["ro_number"],
                    submitted, answers, scores, scores["index"], scores["nps_category"], reasons, now)
                found = events(invitation, response_id, code, scores, reasons, now)
                await connection.execute(outbox_insert(len(found)), *[
                    value for event in found for value in (event["id"], event["type"], event, now)])
        except UnprocessableContent as problem:
            return JSONResponse({"title": str(problem)}, status_code=422)
        return JSONResponse({
            "id": str(response_id), "survey_id": str(invitation["survey_id"]), "version": invitation["survey_version"],
            "kind": invitation["kind"], "submitted_at": now.isoformat(), "answers": answers,
            "scores": scoring.rounded(scores),
        }, status_code=201)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="asyncpg DSN of the survey service's database")
    args = parser.parse_args()
    # As shared/serve.py runs every service.
    uvicorn.run(create_app(args.database_url), host="127.0.0.1", port=args.port, log_config=None, access_log=False,
                loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
