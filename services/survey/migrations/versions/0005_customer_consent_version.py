"""The customer record's version each consent record was last written from (customer events carry
it): a customer event delivered late never undoes a newer one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_consents") as batch:
        batch.add_column(sa.Column("customer_version", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("customer_consents") as batch:
        batch.drop_column("customer_version")
