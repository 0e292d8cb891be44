"""OAuth2 clients: created by admins, secret shown once and stored as SHA-256 (like API keys:
256 random bits leave nothing to brute-force), exchanged for short-lived access tokens.

The access token is the same JWT a login yields (gateway.tokens), so the authenticator
accepts it without a database lookup; revoking a client stops new tokens, and the ones
issued run out within `oauth_access_token_ttl_seconds`.
"""

import hmac
import secrets

from gateway.keys import hash_key
from gateway.models import OAuthClient
from gateway.oauth.errors import OAuthError
from gateway.orgs import principal_of_org, visible_org
from gateway.repository import OAuthClientRepository, OrgRepository
from gateway.schemas import OAuthClientCreate
from gateway.scopes import check_grant
from shared.auth import Principal

CLIENT_ID_PREFIX = "csc_"
# Compared when the client id is unknown, so a miss costs what a wrong secret costs.
_DUMMY_HASH = hash_key("csloop-no-such-client")


async def create_client(orgs: OrgRepository, clients: OAuthClientRepository,
                        data: OAuthClientCreate) -> tuple[OAuthClient, str]:
    """The stored client and its secret in plaintext, which the caller shows once."""
    org = await visible_org(orgs, data.org_code)
    scopes = check_grant(data.scopes, clients.principal.scopes)
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12), secret_hash=hash_key(secret), name=data.name,
        org_code=org.code, org_path=org.org_path, scopes=scopes, created_by=clients.principal.subject,
    )
    return await clients.add(client), secret


def requested_scopes(scope: str | None, granted: list[str]) -> list[str]:
    """RFC 6749 3.3: space-separated; absent means everything the client holds."""
    if scope is None or not scope.strip():
        return sorted(granted)
    wanted = set(scope.split())
    beyond = sorted(wanted - set(granted))
    if beyond:
        raise OAuthError("invalid_scope", f"The client does not hold: {' '.join(beyond)}")
    return sorted(wanted)


async def authenticate_client(clients: OAuthClientRepository, client_id: str, secret: str, scope: str | None) -> Principal:
    """`clients` must be built for the system principal: the caller is not known yet."""
    found = await clients.active_by_client_id(client_id)
    expected = found[0].secret_hash if found else _DUMMY_HASH
    if not hmac.compare_digest(expected, hash_key(secret)) or found is None:
        raise OAuthError("invalid_client", "Unknown client or wrong secret")
    client, org = found
    scopes = requested_scopes(scope, client.scopes)
    return principal_of_org(org, f"client:{client.client_id}", ("oauth-client",), frozenset(scopes))
