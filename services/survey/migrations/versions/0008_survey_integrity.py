"""Survey integrity (issue 17): when a link was first opened, how long the answer took, the
gateway's salted hashes of the client address and device, the response's integrity status and
flags with its review, and each organisation's integrity rules.

Rows made before this revision are clean: nothing about how they were answered was kept.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from shared import rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RESPONSE_COLUMNS = (
    ("duration_seconds", sa.Float()), ("client_hash", sa.String(64)), ("device_hash", sa.String(64)),
    ("text_hash", sa.String(64)), ("reviewed_at", sa.DateTime(timezone=True)), ("reviewed_by", sa.String(200)),
    ("review_note", sa.String(1000)),
)


def upgrade() -> None:
    op.add_column("invitations", sa.Column("first_opened_at", sa.DateTime(timezone=True), nullable=True))
    for name, type_ in RESPONSE_COLUMNS:
        op.add_column("survey_responses", sa.Column(name, type_, nullable=True))
    op.add_column("survey_responses", sa.Column("integrity_status", sa.String(10), nullable=False,
                                                server_default="clean"))
    op.add_column("survey_responses", sa.Column("integrity_flags", sa.JSON(), nullable=False, server_default="[]"))
    # The history rules look at one dealer's responses by device and by free text.
    op.create_index("ix_survey_responses_dealer_device", "survey_responses", ["dealer_code", "device_hash"])
    op.create_index("ix_survey_responses_dealer_text", "survey_responses", ["dealer_code", "text_hash"])
    op.create_table(
        "integrity_rules",
        sa.Column("org_path", sa.String(400), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Rules set above an organisation are in force in it: readable below, written only in the subtree.
    rls.enable(["integrity_rules"], ancestors_read=("integrity_rules",))


def downgrade() -> None:
    rls.disable(["integrity_rules"])
    op.drop_table("integrity_rules")
    op.drop_index("ix_survey_responses_dealer_text", "survey_responses")
    op.drop_index("ix_survey_responses_dealer_device", "survey_responses")
    for name in ("integrity_flags", "integrity_status", *(name for name, _ in RESPONSE_COLUMNS)):
        op.drop_column("survey_responses", name)
    op.drop_column("invitations", "first_opened_at")
