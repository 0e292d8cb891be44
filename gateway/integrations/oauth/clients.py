"""OAuth2 clients: created by admins, secret shown once and stored as SHA-256 (like API keys:
256 random bits leave nothing to brute-force), exchanged for short-lived access tokens.

The access token is the same JWT a login yields (gateway.identity.tokens); the authenticator also
checks that its client is still active, remembering the answer for `api_key_cache_seconds`
(30 s), so a revoked client's tokens stop working within that time on every gateway.
Revoking a client, or the API key that registered it, revokes the clients it registered.
"""

import hmac
import re
import secrets

from gateway.identity.keys import hash_key
from gateway.models import OAuthClient
from gateway.integrations.oauth.errors import OAuthError
from gateway.identity.orgs import named_org, principal_of_org
from gateway.repository import OAuthClientRepository, OrgRepository
from gateway.schemas import OAuthClientCreate
from gateway.identity.scopes import check_grant
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import NotFound

CLIENT_ID_PREFIX = "csc_"
CLIENT_ID = re.compile(r"^csc_[0-9a-f]{24}$")
# The principal subject of a client's access tokens: `client:<client_id>`.
SUBJECT_PREFIX = "client:"
# Compared when the client id is unknown, so a miss costs what a wrong secret costs.
_DUMMY_HASH = hash_key("csloop-no-such-client")


async def create_client(orgs: OrgRepository, clients: OAuthClientRepository,
                        data: OAuthClientCreate) -> tuple[OAuthClient, str]:
    """The stored client and its secret in plaintext, which the caller shows once."""
    org = await named_org(orgs, data.org_code)
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
    return principal_of_org(org, SUBJECT_PREFIX + client.client_id, ("oauth-client",), frozenset(scopes))


async def visible_client(clients: OAuthClientRepository, client_id: str) -> OAuthClient:
    # Not the shape of a client id: unknown, without asking the database (a NUL would be a
    # 422 from PostgreSQL and a miss on SQLite).
    missing = f"No OAuth client {client_id} in your subtree"
    if not CLIENT_ID.match(client_id):
        raise NotFound(missing)
    return await clients.get_visible(OAuthClient, client_id, key=OAuthClient.client_id, missing=missing)


async def revoke_client(clients: OAuthClientRepository, client_id: str) -> list[str]:
    """Revoke a client of the caller's subtree and the clients it registered; their client ids."""
    client = await visible_client(clients, client_id)
    revoked = [client.client_id] if client.revoked_at is None else []
    client.revoked_at = client.revoked_at or utcnow()
    return revoked + await revoke_created_by(clients, SUBJECT_PREFIX + client.client_id)


async def revoke_created_by(clients: OAuthClientRepository, subject: str) -> list[str]:
    """Revoke the active clients registered by `subject`, and theirs in turn; their client ids."""
    revoked: list[str] = []
    pending = [subject]
    while pending:
        for client in await clients.active_created_by(pending.pop()):
            client.revoked_at = utcnow()
            revoked.append(client.client_id)
            pending.append(SUBJECT_PREFIX + client.client_id)
        await clients.flush()
    return revoked
