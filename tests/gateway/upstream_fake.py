"""A stand-in service for proxy tests: echoes what it received, serves a few typed routes."""

import hashlib
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

KNOWN_CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000042")
# The survey service's token -> dealer look-up (integrity): a token `inv.<DEALER>.<anything>` is
# that dealer's invitation; every look-up is counted, so tests see what the gateway cached.
DEALER_LOOKUPS: list[str] = []


class FakeCustomer(BaseModel):
    id: uuid.UUID
    name: str


def fake_service() -> FastAPI:
    app = FastAPI(title="fake service")

    @app.get("/v1/customers/{customer_id}")
    async def get_customer(customer_id: uuid.UUID) -> FakeCustomer:
        if customer_id != KNOWN_CUSTOMER:
            return JSONResponse({"status": 404, "title": "Not found"}, status_code=404,  # type: ignore[return-value]
                                media_type="application/problem+json")
        return FakeCustomer(id=customer_id, name="Zhang Wei")

    @app.get("/v1/vehicles")
    async def vehicles(owner_customer_id: str) -> dict:
        return {"items": [{"vin": "LFV2A21K8H4000001", "owner_customer_id": owner_customer_id}], "next_cursor": None}

    @app.get("/v1/service-visits")
    async def visits(customer_id: str) -> dict:
        return {"items": [{"ro_number": "RO-1", "customer_id": customer_id}], "next_cursor": None}

    @app.get("/v1/survey-responses")
    async def responses(customer_id: str) -> dict:
        return {"items": [{"id": "r1", "customer_id": customer_id}], "next_cursor": None}

    @app.get("/v1/interactions")
    async def interactions(customer_id: str) -> dict:
        return {"items": [{"id": "i1", "customer_id": customer_id, "channel": "phone"}], "next_cursor": None}

    @app.get("/v1/appointments")
    async def appointments(customer_id: str) -> dict:
        return {"items": [{"id": "a1", "customer_id": customer_id, "status": "booked"}], "next_cursor": None}

    @app.get("/v1/follow-ups/stream")
    async def stream(chunks: int = 100) -> StreamingResponse:
        async def body():  # noqa: ANN202
            for i in range(chunks):
                yield f"{i:09d}\n".encode() * 1000
        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/internal/invitations/by-token/{token}/dealer")
    async def dealer_of_token(token: str, request: Request) -> JSONResponse:
        DEALER_LOOKUPS.append(token)
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "inv" or not request.headers.get("x-internal-token"):
            return JSONResponse({"status": 404, "title": "Not found"}, status_code=404,
                                media_type="application/problem+json")
        return JSONResponse({"dealer_code": parts[1], "org_path": f"/M/{parts[1]}/"})

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def echo(path: str, request: Request) -> JSONResponse:
        digest, length = hashlib.sha256(), 0
        async for chunk in request.stream():
            digest.update(chunk)
            length += len(chunk)
        return JSONResponse(
            {"method": request.method, "path": request.url.path, "query": request.url.query,
             "headers": dict(request.headers), "body_length": length, "body_sha256": digest.hexdigest()},
            status_code=201 if request.method == "POST" else 200,
            headers={"ETag": '"v1"', "Location": f"/{path}/1", "X-Upstream": "fake", "Retry-After": "7"},
        )

    return app
