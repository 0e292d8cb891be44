"""Access tokens for users and OAuth clients: principal JWTs like the internal ones, for another audience.

The audience keeps the two apart: an access token is refused by a service (wrong audience),
and an internal token is refused by the gateway's bearer check.
"""

from shared.auth import Principal, TokenVerifier, mint_token

ACCESS_AUDIENCE = "csloop-access"


def mint_access_token(principal: Principal, secret: str, ttl_seconds: int) -> str:
    return mint_token(principal, secret, ttl_seconds, ACCESS_AUDIENCE)


def access_token_verifier(secret: str) -> TokenVerifier:
    return TokenVerifier(secret, ACCESS_AUDIENCE, refusal="Invalid or expired access token")
