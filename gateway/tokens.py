"""Access tokens for users: a JWT signed with the internal secret, but for another audience.

The audience keeps the two apart: an access token is refused by a service (wrong audience),
and an internal token is refused by the gateway's bearer check.
"""

import time
from collections import OrderedDict

import jwt

from shared.auth import INTERNAL_ISSUER, Principal
from shared.problems import Unauthorized

ACCESS_AUDIENCE = "csloop-access"


def mint_access_token(principal: Principal, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER, "aud": ACCESS_AUDIENCE, "sub": principal.subject,
        "org": principal.org_code, "path": principal.org_path, "kind": principal.org_kind,
        "roles": list(principal.roles), "scopes": sorted(principal.scopes), "iat": now, "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class AccessTokenVerifier:
    """Verifies each token once and remembers it until it expires (clients reuse tokens)."""

    def __init__(self, secret: str, max_cached: int = 10_000) -> None:
        self._secret = secret
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached and cached[0] > time.time():
            return cached[1]
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=ACCESS_AUDIENCE,
                                issuer=INTERNAL_ISSUER, options={"require": ["exp", "sub", "path", "org"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid or expired access token") from exc
        principal = Principal(
            subject=claims["sub"], org_code=claims["org"], org_path=claims["path"], org_kind=claims.get("kind", ""),
            roles=tuple(claims.get("roles", ())), scopes=frozenset(claims.get("scopes", ())),
        )
        self._cache[token] = (float(claims["exp"]), principal)
        if len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
        return principal
