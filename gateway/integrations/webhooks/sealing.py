"""Webhook signing secrets at rest: Fernet tokens (AES-128-CBC + HMAC-SHA256) under keys from
settings, so a copy of the database (a backup, a replica) cannot sign deliveries.

The first key seals; every key opens (MultiFernet): a new key goes first, and an old one stays
listed while secrets sealed under it remain.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Development only (settings refuse it elsewhere), like shared.settings.DEVELOPMENT_SECRET:
# `csloop up` and the tests need no key, and production must bring its own.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"csloop-development-webhook-key").digest()).decode()

# A plaintext Standard Webhooks secret, as rows held before secrets were sealed.
PLAINTEXT_PREFIX = "whsec_"


class SecretUnreadable(Exception):
    """The stored secret opens with none of the configured keys (a key was dropped too early)."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one webhook secret key is needed")
        # Fernet() raises ValueError for anything but 32 url-safe base64-encoded bytes.
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("the webhook secret opens with none of the configured keys") from exc
