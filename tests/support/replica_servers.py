"""Stand-in replicas of one service, real HTTP servers on 127.0.0.1: each answers which replica it
is, and its readiness can be turned off (a replica draining) or the server stopped (one killed)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.suite import free_port_base


@dataclass
class Replica:
    number: int
    port: int
    ready: bool = True
    served: list[str] = field(default_factory=list)  # "METHOD path" of each request but readiness
    server: uvicorn.Server | None = None
    task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = uvicorn.Server(uvicorn.Config(_app(self), host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """As a killed process: its port refuses connections from now on."""
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
            self.server = self.task = None


def _app(replica: Replica) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)  # every path is the catch-all

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return JSONResponse({"status": "ok" if replica.ready else "draining"}, status_code=200 if replica.ready else 503)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def anything(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        replica.served.append(f"{request.method} /{path}")
        return JSONResponse({"replica": replica.number, "body_length": len(body)})

    return app


@asynccontextmanager
async def replicas(count: int) -> AsyncIterator[list[Replica]]:
    started = [Replica(n, free_port_base(1)) for n in range(count)]
    for replica in started:
        await replica.start()
    try:
        yield started
    finally:
        for replica in started:
            await replica.stop()
