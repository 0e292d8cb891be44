"""The principal a request acts for, and the internal token that carries it between processes.

The gateway authenticates the caller (API key or user) and forwards a short-lived HS256 JWT
with the principal's org path, roles and scopes. Services trust nothing else: a request that
reaches a service port without a valid token is a 401.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated

import jwt
from fastapi import Depends, Request

from shared.logs import bind_org
from shared.org_path import OrgPath
from shared.problems import Forbidden, Unauthorized

INTERNAL_AUDIENCE = "csloop-internal"
INTERNAL_ISSUER = "csloop"
INTERNAL_HEADER = "X-Internal-Token"
# The principal the relay and other service-to-service calls act as: sees the whole tree.
SYSTEM_SUBJECT = "system"


@dataclass(frozen=True)
class Principal:
    subject: str
    org_code: str
    org_path: str
    org_kind: str
    roles: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "internal" in self.scopes

    @property
    def path(self) -> OrgPath:
        """The caller's place in the org tree."""
        return OrgPath(self.org_path)

    def sees(self, path: str) -> bool:
        """The hierarchy rule: a record is visible when the caller's path contains the record's."""
        return self.path.contains(path)


def system_principal() -> Principal:
    return Principal(SYSTEM_SUBJECT, "*", "/", "system", ("system",), frozenset({"internal"}))


def mint_token(principal: Principal, secret: str, ttl_seconds: int, audience: str) -> str:
    """A principal as an HS256 JWT; the audience says where it counts (services, or the gateway)."""
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER,
        "aud": audience,
        "sub": principal.subject,
        "org": principal.org_code,
        "path": principal.org_path,
        "kind": principal.org_kind,
        "roles": list(principal.roles),
        "scopes": sorted(principal.scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_internal_token(principal: Principal, secret: str, ttl_seconds: int = 120) -> str:
    return mint_token(principal, secret, ttl_seconds, INTERNAL_AUDIENCE)


class TokenVerifier:
    """Verifies a principal's tokens for one audience, remembering each verified token until it expires.

    Callers reuse a token for many requests, so verifying each token once keeps the
    per-request cost to a dictionary lookup.
    """

    def __init__(self, secret: str, audience: str = INTERNAL_AUDIENCE, *, refusal: str = "Invalid internal token",
                 max_cached: int = 10_000) -> None:
        self._secret = secret
        self._audience = audience
        self._refusal = refusal
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached and cached[0] > time.time():
            return cached[1]
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], audience=self._audience,
                issuer=INTERNAL_ISSUER, options={"require": ["exp", "sub", "path"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(self._refusal) from exc
        principal = Principal(
            subject=claims["sub"], org_code=claims.get("org", ""), org_path=claims["path"],
            org_kind=claims.get("kind", ""), roles=tuple(claims.get("roles", ())),
            scopes=frozenset(claims.get("scopes", ())),
        )
        self._cache[token] = (float(claims["exp"]), principal)
        if len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
        return principal


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the principal of the internal token, or 401."""
    return principal_of(request)


def principal_of(request: Request) -> Principal:
    """The principal of the request's internal token (401 without one), bound to the access log."""
    token = request.headers.get(INTERNAL_HEADER)
    if not token:
        raise Unauthorized("This service is reached through the gateway only")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(token)
    bind_org(principal.org_code)
    return principal


def authorised(request: Request, scope: str) -> Principal:
    """The request's principal, holding `scope` (403 otherwise)."""
    principal = principal_of(request)
    if not principal.has_scope(scope):
        raise Forbidden(f"This call needs the scope '{scope}'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str):  # noqa: ANN201 - returns a FastAPI dependency
    async def check(request: Request) -> Principal:
        return authorised(request, scope)

    return Depends(check)


def scoped(scope: str) -> type[Principal]:
    """`principal: scoped("customers:read")` - the current principal, holding that scope."""
    return Annotated[Principal, require_scope(scope)]  # type: ignore[return-value]
