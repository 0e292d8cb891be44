"""Revoking a credential takes down the OAuth clients it registered: whoever cannot act any
more must not keep acting through what it made."""

import uuid
from dataclasses import dataclass

from gateway.identity.keys import key_subject, revoke_key
from gateway.integrations.oauth.clients import revoke_created_by
from gateway.repository import ApiKeyRepository, OAuthClientRepository


@dataclass(frozen=True)
class RevokedKey:
    """What caches must forget: the key's hash and the ids of the clients revoked with it."""

    key_hash: str
    client_ids: list[str]


async def revoke_key_and_its_clients(keys: ApiKeyRepository, clients: OAuthClientRepository,
                                     key_id: uuid.UUID) -> RevokedKey:
    key = await revoke_key(keys, key_id)
    return RevokedKey(key.key_hash, await revoke_created_by(clients, key_subject(key)))
