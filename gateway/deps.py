"""FastAPI dependencies of the gateway's own endpoints: the transaction and the caller."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.edge.ratelimit import remember_headers
from shared.auth import Principal
from shared.db import begun_session
from shared.problems import Forbidden


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back if it raises."""
    async with await begun_session(request.app.state.sessions) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, never after a 201 went out.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def authenticated(request: Request) -> Principal:
    state = request.app.state
    client = request.client.host if request.client else "unknown"
    principal = await state.authenticator.authenticate_from(client, request.headers.get("authorization"))
    remember_headers(request.scope, await state.rate_limiter.admit(principal.subject))
    return principal


Caller = Annotated[Principal, Depends(authenticated)]


def caller_with(scope: str) -> type[Principal]:
    """`caller: caller_with("orgs:admin")`: the authenticated caller, holding that scope, else 403."""

    async def check(principal: Caller) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(f"This call needs the scope '{scope}'")
        return principal

    return Annotated[Principal, Depends(check)]  # type: ignore[return-value]


OrgAdmin = caller_with("orgs:admin")
