"""Webhook secrets sealed at rest: each plaintext `whsec_...` becomes a Fernet token under the
first of CSLOOP_WEBHOOKS_SECRET_KEYS (gateway/integrations/webhooks/sealing.py); the column
grows to hold one. The key comes from the settings the migrating process runs with.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from gateway.integrations.webhooks.sealing import PLAINTEXT_PREFIX
from gateway.settings import GatewaySettings

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# A 50-character secret seals to 164 characters.
SEALED_LENGTH = 300
PLAIN_LENGTH = 100


def _resize(length: int) -> None:
    # SQLite does not enforce VARCHAR lengths; rebuilding the table there would buy nothing.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("webhook_subscriptions", "secret", type_=sa.String(length))


def _rewrite(change) -> None:  # noqa: ANN001 - str -> str
    bind = op.get_bind()
    for row_id, secret in bind.execute(sa.text("SELECT id, secret FROM webhook_subscriptions")).all():
        new = change(secret)
        if new != secret:
            bind.execute(sa.text("UPDATE webhook_subscriptions SET secret = :secret WHERE id = :id"),
                         {"secret": new, "id": row_id})


def upgrade() -> None:
    box = GatewaySettings().webhook_secrets()
    _resize(SEALED_LENGTH)
    _rewrite(lambda secret: box.seal(secret) if secret.startswith(PLAINTEXT_PREFIX) else secret)


def downgrade() -> None:
    box = GatewaySettings().webhook_secrets()
    _rewrite(lambda secret: secret if secret.startswith(PLAINTEXT_PREFIX) else box.open(secret))
    _resize(PLAIN_LENGTH)
