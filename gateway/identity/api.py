"""HTTP layer of the gateway's own resources: organisations, API keys, users, login."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from gateway.identity import keys, networks, orgs, revocation, users
from gateway.deps import Caller, OrgAdmin, SessionDep
from gateway.identity.idempotency import IdempotentCreate
from gateway.repository import ApiKeyRepository, OAuthClientRepository, OrgNetworkRepository, OrgRepository, UserRepository
from gateway.schemas import (ApiKeyCreate, ApiKeyCreated, ApiKeyRead, LoginRequest, LoginToken, OrgCreate,
                             OrgNetworksRead, OrgNetworksWrite, OrgRead, UserCreate, UserRead, UserUpdate)
from gateway.identity.tokens import mint_access_token
from shared.auth import system_principal
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(prefix="/v1")
Paging = Annotated[PageParams, Depends(page_params)]


@router.post("/orgs", status_code=status.HTTP_201_CREATED, tags=["organisations"],
             responses=problem_responses(401, 403, 404, 409, 422))
async def create_org(data: OrgCreate, caller: OrgAdmin, session: SessionDep, once: IdempotentCreate) -> OrgRead:
    """Create a distributor or dealer under an organisation of your subtree.

    Organisation codes are unique across the whole network, not per tree: a 409 "taken"
    tells the caller that an organisation with that code exists somewhere, possibly in a
    tree it cannot see. That is accepted (codes are public identifiers such as dealer
    numbers, and nothing else about that organisation is revealed); do not put anything
    secret in a code.
    """
    org = await orgs.create_org(OrgRepository(session, caller), data)
    return await once.answer(OrgRead.model_validate(org), location=f"/v1/orgs/{org.code}")


@router.get("/orgs", tags=["organisations"], responses=problem_responses(400, 401, 422))
async def list_orgs(caller: Caller, session: SessionDep, paging: Paging, updated_since: UpdatedSince) -> Page[OrgRead]:
    """List the organisations of your subtree (yours included)."""
    rows, next_cursor = await OrgRepository(session, caller).page(paging, updated_since)
    return Page[OrgRead](items=[OrgRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/orgs/{code}", tags=["organisations"], responses=problem_responses(401, 404))
async def get_org(code: str, caller: Caller, session: SessionDep) -> OrgRead:
    """One organisation of your subtree."""
    return OrgRead.model_validate(await orgs.visible_org(OrgRepository(session, caller), code))


@router.get("/orgs/{code}/networks", tags=["organisations"], responses=problem_responses(401, 403, 404))
async def get_org_networks(code: str, caller: OrgAdmin, session: SessionDep) -> OrgNetworksRead:
    """A dealer's own networks: surveys answered from them are flagged `dealer_network`."""
    return await networks.read_networks(OrgRepository(session, caller), OrgNetworkRepository(session, caller), code)


@router.put("/orgs/{code}/networks", tags=["organisations"], responses=problem_responses(401, 403, 404, 422))
async def put_org_networks(code: str, data: OrgNetworksWrite, caller: OrgAdmin, session: SessionDep,
                           request: Request) -> OrgNetworksRead:
    """Set a dealer's own networks (IPv4/IPv6 CIDRs; the list replaces the previous one).

    Only an organisation above the dealer sets them (its distributor or the manufacturer): a
    dealer cannot change the list that flags surveys answered from its showroom (403). A survey
    answered from an address in them is flagged `dealer_network` and held out of the KPIs until
    reviewed. Other gateway processes apply a change within `CSLOOP_INTEGRITY_NETWORKS_CACHE_SECONDS`.
    """
    answer = await networks.set_networks(OrgRepository(session, caller), OrgNetworkRepository(session, caller),
                                         code, data.cidrs)
    await session.commit()  # before this process reads the networks again
    request.app.state.integrity.forget_networks()
    return answer


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, tags=["api keys"],
             responses=problem_responses(401, 403, 404, 409, 422))
async def create_api_key(data: ApiKeyCreate, caller: OrgAdmin, session: SessionDep,
                         once: IdempotentCreate) -> ApiKeyCreated:
    """Issue an API key for an organisation of your subtree; the key is shown only in this response."""
    key, plaintext = await keys.create_key(OrgRepository(session, caller), ApiKeyRepository(session, caller), data)
    created = ApiKeyCreated(id=key.id, key=plaintext, org_code=key.org_code, name=key.name, scopes=key.scopes)
    return await once.answer_secret(created, created=f"the API key {key.id}", record_id=str(key.id))


@router.get("/api-keys", tags=["api keys"], responses=problem_responses(400, 401, 403, 422))
async def list_api_keys(caller: OrgAdmin, session: SessionDep, paging: Paging, updated_since: UpdatedSince) -> Page[ApiKeyRead]:
    """The API keys of your subtree, revoked ones included; never a key or its hash."""
    rows, next_cursor = await ApiKeyRepository(session, caller).page(paging, updated_since)
    return Page[ApiKeyRead](items=[ApiKeyRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["api keys"],
               responses=problem_responses(401, 403, 404))
async def revoke_api_key(key_id: uuid.UUID, caller: OrgAdmin, session: SessionDep, request: Request) -> Response:
    """Revoke an API key, and the OAuth clients it registered: refused at once by the gateway that
    took the call, within 30 s by every other gateway replica (deploy/CACHES.md)."""
    revoked = await revocation.revoke_key_and_its_clients(
        ApiKeyRepository(session, caller), OAuthClientRepository(session, caller), key_id)
    await session.commit()  # revoked in the database before this process forgets the cached key
    request.app.state.authenticator.forget_key(revoked.key_hash)
    request.app.state.authenticator.forget_clients(revoked.client_ids)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"],
             responses=problem_responses(401, 403, 404, 409, 422))
async def create_user(data: UserCreate, caller: OrgAdmin, session: SessionDep, once: IdempotentCreate) -> UserRead:
    """Create a user in an organisation of your subtree.

    Usernames are unique across the whole network (login takes a username alone): a 409
    "taken" tells the caller that the username exists somewhere, possibly in another tree.
    That is accepted and nothing else about that user is revealed; pick usernames that carry
    no secret (or prefix them with your organisation code).
    """
    user = await users.create_user(OrgRepository(session, caller), UserRepository(session, caller), data)
    return await once.answer(UserRead.model_validate(user))


@router.get("/users", tags=["users"], responses=problem_responses(400, 401, 403, 422))
async def list_users(caller: OrgAdmin, session: SessionDep, paging: Paging, updated_since: UpdatedSince) -> Page[UserRead]:
    """The users of your subtree; never a password or its hash."""
    rows, next_cursor = await UserRepository(session, caller).page(paging, updated_since)
    return Page[UserRead](items=[UserRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.patch("/users/{user_id}", tags=["users"], responses=problem_responses(401, 403, 404, 412, 422, 428))
async def update_user(user_id: uuid.UUID, data: UserUpdate, caller: OrgAdmin, session: SessionDep, response: Response,
                      if_match: Annotated[str | None, Header()] = None) -> UserRead:
    """Set (or clear) a user's staff code (If-Match: the `version` the list shows, as `"v<version>"`):
    the desk shows that person's calls. Another tree's user is a 404."""
    user = await users.update_user(UserRepository(session, caller), user_id, data, if_match)
    response.headers["ETag"] = etag_for(user.version)
    return UserRead.model_validate(user)


@router.post("/auth/login", tags=["users"], responses=problem_responses(401, 422, 429))
async def login(data: LoginRequest, session: SessionDep, request: Request) -> LoginToken:
    """Exchange a username and password for a bearer access token; the answer says who signed in
    (username, org, staff code)."""
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    principal, user = await users.login(UserRepository(session, system_principal()), data, state.login_throttle, address)
    ttl = state.settings.access_token_ttl_seconds
    return LoginToken(access_token=mint_access_token(principal, state.settings.internal_secret, ttl), expires_in=ttl,
                      username=user.username, org_code=user.org_code, staff_code=user.staff_code)
