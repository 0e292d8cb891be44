"""Survey service tables: surveys, versions, consents, invitations, responses.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrations import create_plumbing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "surveys",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("template", sa.String(20)),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("published_version", sa.Integer()),
        sa.Column("draft_changed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("org_path", "code", name="uq_surveys_org_path_code"),
    )
    op.create_table(
        "survey_versions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("survey_id", sa.Uuid(), sa.ForeignKey("surveys.id", name="fk_survey_versions_survey_id_surveys"),
                  nullable=False, index=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("survey_id", "number", name="uq_survey_versions_survey_id_number"),
    )
    op.create_table(
        "customer_consents",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("survey", sa.Boolean(), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("survey_id", sa.Uuid(), sa.ForeignKey("surveys.id", name="fk_invitations_survey_id_surveys"),
                  nullable=False, index=True),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), index=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("vin", sa.String(17)),
        sa.Column("ro_number", sa.String(60)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.String(200)),
        sa.Column("source_key", sa.String(200), unique=True),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("reminded_at", UTCDateTime),
        sa.Column("responded_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_invitations_due", "invitations", ["status", "due_at"])
    op.create_index("ix_invitations_customer_sent", "invitations", ["customer_id", "sent_at"])
    op.create_index("ix_invitations_created_at_id", "invitations", ["created_at", "id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("invitation_id", sa.Uuid(),
                  sa.ForeignKey("invitations.id", name="fk_survey_responses_invitation_id_invitations"),
                  nullable=False, unique=True),
        sa.Column("survey_id", sa.Uuid(), sa.ForeignKey("surveys.id", name="fk_survey_responses_survey_id_surveys"),
                  nullable=False, index=True),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), index=True),
        sa.Column("dealer_code", sa.String(40), nullable=False, index=True),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("vin", sa.String(17)),
        sa.Column("ro_number", sa.String(60)),
        sa.Column("submitted", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("score_index", sa.Float()),
        sa.Column("nps_category", sa.String(10)),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_survey_responses_created_at_id", "survey_responses", ["created_at", "id"])
