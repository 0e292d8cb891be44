"""OAuth clients (admins: register, list, read, revoke) and `POST /v1/oauth/token` (client credentials grant)."""

import base64
import binascii
from urllib.parse import unquote_plus

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from gateway.deps import OrgAdmin, SessionDep
from gateway.edge.ratelimit import remember_headers
from gateway.identity.idempotency import IdempotentCreate
from gateway.integrations.oauth import clients
from gateway.integrations.oauth.errors import OAuthError
from gateway.repository import OAuthClientRepository, OrgRepository
from gateway.schemas import (OAUTH_TOKEN_FORM, OAuthClientCreate, OAuthClientCreated, OAuthClientRead, OAuthToken,
                             OAuthTokenError)
from gateway.identity.tokens import mint_access_token
from shared.auth import system_principal
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/oauth", tags=["oauth"])
Paging = Annotated[PageParams, Depends(page_params)]
FORM = "application/x-www-form-urlencoded"


@router.post("/clients", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 403, 404, 409, 422))
async def create_client(data: OAuthClientCreate, caller: OrgAdmin, session: SessionDep,
                        once: IdempotentCreate) -> OAuthClientCreated:
    """Register a DMS system as an OAuth2 client of an organisation; the secret is shown only here."""
    client, secret = await clients.create_client(OrgRepository(session, caller), OAuthClientRepository(session, caller), data)
    created = OAuthClientCreated(client_id=client.client_id, client_secret=secret, org_code=client.org_code,
                                 name=client.name, scopes=client.scopes)
    return await once.answer_secret(created, created=f"the OAuth client {client.client_id}",
                                    record_id=client.client_id, location=f"/v1/oauth/clients/{client.client_id}")


@router.get("/clients", responses=problem_responses(400, 401, 403, 422))
async def list_clients(caller: OrgAdmin, session: SessionDep, paging: Paging, updated_since: UpdatedSince) -> Page[OAuthClientRead]:
    """The OAuth clients of your subtree, revoked ones included (never a secret)."""
    rows, next_cursor = await OAuthClientRepository(session, caller).page(paging, updated_since)
    return Page[OAuthClientRead](items=[OAuthClientRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/clients/{client_id}", responses=problem_responses(401, 403, 404))
async def get_client(client_id: str, caller: OrgAdmin, session: SessionDep) -> OAuthClientRead:
    """One OAuth client of your subtree."""
    return OAuthClientRead.model_validate(await clients.visible_client(OAuthClientRepository(session, caller), client_id))


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403, 404))
async def revoke_client(client_id: str, caller: OrgAdmin, session: SessionDep, request: Request) -> Response:
    """Revoke an OAuth client, and the clients it registered: no new tokens, and the issued ones
    stop working within 30 s."""
    revoked = await clients.revoke_client(OAuthClientRepository(session, caller), client_id)
    await session.commit()  # revoked in the database before this process forgets what it remembered
    request.app.state.authenticator.forget_clients(revoked)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """RFC 6749 2.3.1: HTTP Basic with the form-urlencoded client id and secret."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        client_id, _, secret = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials", basic_auth=True) from exc
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/token", responses={
    200: {"model": OAuthToken},
    400: {"model": OAuthTokenError, "description": "RFC 6749 5.2 error"},
    401: {"model": OAuthTokenError, "description": "RFC 6749 5.2 invalid_client, for a client that used HTTP Basic"},
}, openapi_extra={"requestBody": {"required": True, "content": {FORM: {"schema": OAUTH_TOKEN_FORM}}}})
async def token(request: Request, session: SessionDep) -> JSONResponse:
    """Client credentials grant: a short-lived bearer access token with (a subset of) the client's scopes."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
        raise OAuthError("invalid_request", f"Send the parameters as {FORM}")
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported")
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic and form.get("client_id") and form.get("client_secret"):
        raise OAuthError("invalid_request", "Authenticate the client one way: HTTP Basic or the form, not both")
    client_id, secret = basic or (str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
    if not client_id or not secret:
        raise OAuthError("invalid_client", "Client authentication is required", basic_auth=basic is not None)
    state = request.app.state
    remember_headers(request.scope, await state.rate_limiter.admit(f"oauth:{client_id}"))
    scope = form.get("scope")
    try:
        principal = await clients.authenticate_client(OAuthClientRepository(session, system_principal()), client_id,
                                                      secret, str(scope) if scope is not None else None)
    except OAuthError as exc:
        exc.basic_auth = basic is not None
        raise
    ttl = state.settings.oauth_access_token_ttl_seconds
    body = OAuthToken(access_token=mint_access_token(principal, state.settings.internal_secret, ttl), expires_in=ttl,
                      scope=" ".join(sorted(principal.scopes)))
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
