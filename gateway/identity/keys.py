"""API keys: `csk_<id prefix>_<secret>`, shown once, stored as SHA-256.

A fast hash is right here (argon2 is for passwords): the key carries 256 random bits, so
there is nothing to brute-force, and the hash is computed on every uncached request.
"""

import hashlib
import secrets
import uuid

from gateway.models import ApiKey, Org
from gateway.identity.orgs import named_org, principal_of_org
from gateway.repository import ApiKeyRepository, OrgRepository
from gateway.schemas import ApiKeyCreate
from gateway.identity.scopes import check_grant
from shared.auth import Principal
from shared.db import utcnow

KEY_PREFIX = "csk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(key_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{key_id.hex[:12]}_{secrets.token_urlsafe(32)}"


def key_subject(key: ApiKey) -> str:
    return f"key:{key.id}"


def key_principal(key: ApiKey, org: Org) -> Principal:
    return principal_of_org(org, key_subject(key), ("api-key",), frozenset(key.scopes))


async def create_key(orgs: OrgRepository, keys: ApiKeyRepository, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """The stored key and the plaintext, which the caller shows once and forgets."""
    org = await named_org(orgs, data.org_code)
    scopes = check_grant(data.scopes, keys.principal.scopes)
    return await issue_key(keys, org, data.name, scopes)


async def issue_key(keys: ApiKeyRepository, org: Org, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    key_id = uuid.uuid4()
    plaintext = new_key(key_id)
    key = ApiKey(
        id=key_id, key_hash=hash_key(plaintext), prefix=plaintext[: len(KEY_PREFIX) + 12], name=name,
        org_code=org.code, org_path=org.org_path, scopes=scopes, created_by=keys.principal.subject,
    )
    return await keys.add(key), plaintext


async def revoke_key(keys: ApiKeyRepository, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key in the caller's subtree (gateway.identity.revocation also takes down what it made)."""
    key = await keys.get_visible(ApiKey, key_id, missing=f"No API key {key_id} in your subtree")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await keys.flush()
    return key
