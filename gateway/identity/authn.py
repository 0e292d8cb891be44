"""Who is calling: `Authorization: Bearer <api key | access token>` -> Principal, cheaply.

Per request this is a dictionary lookup in the common case: verified keys are remembered
for a short while (hash -> principal), access tokens until they expire, and the internal
token minted for a principal is reused until shortly before it expires.

With replicas: a key (or OAuth client) revoked through one gateway is forgotten there at once
and refused by the others when their entry expires, `api_key_cache_seconds` (30 s at most).
Refusals are never remembered, so a new key works at once everywhere (deploy/CACHES.md).
"""

import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.identity.keys import KEY_PREFIX, hash_key, key_principal
from gateway.edge.ratelimit import RateLimiter, refuse_after
from gateway.integrations.oauth.clients import SUBJECT_PREFIX as CLIENT_SUBJECT
from gateway.repository import ApiKeyRepository, OAuthClientRepository
from gateway.identity.tokens import access_token_verifier
from shared.auth import Principal, mint_internal_token, system_principal
from shared.logs import bind_org
from shared.problems import Unauthorized

_MAX_CACHED = 50_000
# Failed authentications per client address. Only failures are counted and only failures are
# refused: many callers share one address (NAT, an ingress), so a valid key or token is always
# accepted whatever its neighbours did. A client that keeps failing gets 429 instead of 401.
# Each made-up key still costs one indexed lookup by hash (cheap); the bucket bound of
# gateway.edge.ratelimit keeps the memory flat however many addresses fail.
# Counted in each process, not shared across replicas on purpose: a key has 256 random bits, so
# N replicas letting N times the failures through guess nothing; the bucket only bounds cost.
FAILED_AUTH_PER_SECOND = 1.0
FAILED_AUTH_BURST = 30


class Authenticator:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret: str, *, key_cache_seconds: float,
                 internal_ttl_seconds: int) -> None:
        self._sessions = sessions
        self._secret = secret
        self._key_cache_seconds = key_cache_seconds
        self._internal_ttl = internal_ttl_seconds
        # Reuse a minted token while more than a quarter of its life is left, so a service
        # never receives one that expires in flight.
        self._internal_reuse = internal_ttl_seconds * 0.75
        self._keys: dict[str, tuple[float, Principal]] = {}
        self._clients: dict[str, float] = {}  # active OAuth client id -> monotonic time to check again
        self._tokens: dict[Principal, tuple[float, str]] = {}
        self._access = access_token_verifier(secret)
        self._failures = RateLimiter(FAILED_AUTH_PER_SECOND, FAILED_AUTH_BURST)

    async def authenticate_from(self, client: str, authorization: str | None) -> Principal:
        """`authenticate`; a failure from a client address that has failed too often of late is 429."""
        try:
            principal = await self.authenticate(authorization)
        except Unauthorized:
            refuse_after(self._failures.take(client))
            raise
        bind_org(principal.org_code)
        return principal

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise Unauthorized("Send `Authorization: Bearer <api key or access token>`")
        credential = authorization[7:].strip()
        if credential.startswith(KEY_PREFIX):
            return await self._key(credential)
        principal = self._access.verify(credential)
        if principal.subject.startswith(CLIENT_SUBJECT):
            await self._client_active(principal.subject.removeprefix(CLIENT_SUBJECT))
        return principal

    async def _client_active(self, client_id: str) -> None:
        """An OAuth client's token is good while its client is (checked at most every cache period)."""
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached is None or cached <= now:
            async with self._sessions() as session:
                found = await OAuthClientRepository(session, system_principal()).active_by_client_id(client_id)
            if found is None:
                self._clients.pop(client_id, None)
                raise Unauthorized("The OAuth client of this token is revoked")
            if len(self._clients) >= _MAX_CACHED:
                self._clients.clear()
            self._clients[client_id] = now + self._key_cache_seconds

    async def _key(self, key: str) -> Principal:
        key_hash = hash_key(key)
        cached = self._keys.get(key_hash)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        async with self._sessions() as session:
            found = await ApiKeyRepository(session, system_principal()).active_by_hash(key_hash)
        if found is None:
            self._keys.pop(key_hash, None)
            raise Unauthorized("Unknown or revoked API key")
        principal = key_principal(*found)
        if len(self._keys) >= _MAX_CACHED:
            self._keys.clear()
        self._keys[key_hash] = (now + self._key_cache_seconds, principal)
        return principal

    def forget_key(self, key_hash: str) -> None:
        """Revocation takes effect at once in this process (others: after the cache period)."""
        self._keys.pop(key_hash, None)

    def forget_clients(self, client_ids: list[str]) -> None:
        for client_id in client_ids:
            self._clients.pop(client_id, None)

    def internal_token(self, principal: Principal) -> str:
        now = time.monotonic()
        cached = self._tokens.get(principal)
        if cached and cached[0] > now:
            return cached[1]
        token = mint_internal_token(principal, self._secret, self._internal_ttl)
        if len(self._tokens) >= _MAX_CACHED:
            self._tokens.clear()
        self._tokens[principal] = (now + self._internal_reuse, token)
        return token
