"""A DMS stand-in: a real HTTP server on 127.0.0.1 that records webhook requests and answers
each path with scripted status codes (then 204)."""

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.gateway.conftest import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)

    def answer(self, path: str, *statuses: int) -> str:
        """Answer `path` with these statuses in turn, then 204; returns the full URL."""
        self.scripts[path] = list(statuses)
        return self.url + path

    def at(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]

    async def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: {len(self.at(path))} requests, expected {count}")
            await asyncio.sleep(0.02)
        return self.at(path)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(Received(request.path, dict(request.headers), await request.read(), time.monotonic()))
        script = self.scripts.get(request.path) or []
        return web.Response(status=script.pop(0) if script else 204)


async def start_receiver() -> tuple[Receiver, web.AppRunner]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}"
    return receiver, runner
