"""The page's two calls to the survey service (through the gateway's pooled session for it), and
the dealer's display name from the gateway's own org table."""

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from gateway.repository import OrgRepository
from shared.auth import system_principal
from shared.org_path import OrgPath

TIMEOUT = aiohttp.ClientTimeout(total=15)
MAX_TOKEN_LENGTH = 200


class SurveyUnavailable(Exception):
    """The survey service is not deployed, cannot be reached, or failed."""


@dataclass(frozen=True)
class Client:
    """Who is answering: the address (the peer, or what a trusted proxy names) and user agent."""

    address: str
    user_agent: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def problem_slug(self) -> str:
        return str(self.body.get("type", "")).rstrip("/").rsplit("/", 1)[-1]


async def read_survey(state: Any, token: str, client: Client) -> Reply:
    return await _call(state, "GET", _path(token), None, token, client)


async def submit(state: Any, token: str, answers: dict[str, Any], client: Client) -> Reply:
    return await _call(state, "POST", _path(token) + "/responses", {"answers": answers}, token, client)


def _path(token: str) -> str:
    return "/v1/public/surveys/" + quote(token, safe="")


async def _call(state: Any, method: str, path: str, body: dict[str, Any] | None, token: str, client: Client) -> Reply:
    upstream = state.upstreams["survey"]
    if upstream.client is None:
        raise SurveyUnavailable("not deployed")
    # The customer's address and browser reach the survey service only as salted hashes.
    headers = {"accept": "application/json",
               **await state.integrity.headers(state, token, client.address, client.user_agent)}
    if request_id := structlog.contextvars.get_contextvars().get("request_id"):
        headers["x-request-id"] = request_id
    try:
        async with upstream.request(method, path, json=body, headers=headers, timeout=TIMEOUT,
                                    allow_redirects=False) as response:
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise SurveyUnavailable(exc.__class__.__name__) from exc
    if response.status >= 500:
        raise SurveyUnavailable(f"status {response.status}")
    return Reply(response.status, payload if isinstance(payload, dict) else {})


async def org_names(state: Any, dealer_code: str) -> tuple[str, str | None]:
    """(dealer name, brand: the name of the network's top org); codes stand in for unknown orgs."""
    async with state.sessions() as session:
        repo = OrgRepository(session, system_principal())
        dealer = await repo.get(dealer_code)
        if dealer is None:
            return dealer_code, None
        top_code = OrgPath(dealer.org_path).at_depth(1).code
        top = await repo.get(top_code) if top_code and top_code != dealer.code else None
        return dealer.name, top.name if top else None
