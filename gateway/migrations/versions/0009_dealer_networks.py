"""`org_networks`: a dealer's own networks (CIDRs), set from above by `PUT /v1/orgs/{code}/networks`;
a survey answered from one of them is flagged `dealer_network` (issue 17).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_networks",
        sa.Column("org_code", sa.String(40), sa.ForeignKey("orgs.code"), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("cidrs", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("org_networks")
