"""A stand-in for the gateway's `/internal/orgs` in a service's in-process tests.

End-to-end tests talk to the real gateway; a service's own tests only need the directory's
answers, served by a tiny app over ASGI so the `OrgDirectory` client code is the real one.
"""

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shared.orgs import OrgDirectory


def directory_app(orgs: dict[str, dict[str, Any]]) -> FastAPI:
    gateway = FastAPI()

    @gateway.get("/internal/orgs/{code}")
    async def org(code: str) -> JSONResponse:
        if code not in orgs:
            return JSONResponse({"detail": "no such org"}, status_code=404)
        return JSONResponse(orgs[code])

    @gateway.get("/internal/orgs")
    async def subtree(under: str) -> JSONResponse:
        return JSONResponse([org for org in orgs.values() if org["path"].startswith(under)])

    return gateway


def stand_in_directory(orgs: dict[str, dict[str, Any]], secret: str) -> OrgDirectory:
    return OrgDirectory("http://gateway.test", secret, transport=httpx.ASGITransport(directory_app(orgs)))
