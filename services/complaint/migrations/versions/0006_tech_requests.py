"""Technical requests (issue 18): a dealer's question answered by its distributor's, then the
manufacturer's technical team, against an answer SLA in business hours; their timeline,
yearly numbers and answer-SLA breaches. Row-level security on every table with an org_path.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCOPED = ["tech_requests", "tech_request_timeline", "tech_request_breaches"]


def upgrade() -> None:
    op.create_table(
        "tech_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("dealer_code", sa.String(40), nullable=False, index=True),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("handling_org_code", sa.String(40), nullable=False),
        sa.Column("handling_org_path", sa.String(400), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("symptom_codes", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.Column("answer_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.JSON()),
        sa.Column("answer_due", UTCDateTime, nullable=False, index=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_tech_requests_created_at_id", "tech_requests", ["created_at", "id"])
    op.create_table(
        "tech_request_timeline",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tech_request_id", sa.Uuid(), sa.ForeignKey("tech_requests.id"), nullable=False, index=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("actor_subject", sa.String(120), nullable=False),
        sa.Column("actor_org_code", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20)),
        sa.Column("note", sa.Text()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "tech_request_counters",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "tech_request_breaches",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tech_request_id", sa.Uuid(), sa.ForeignKey("tech_requests.id"), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("handling_org_code", sa.String(40), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("tech_request_id", "escalation_level"),
    )
    rls.enable(SCOPED)


def downgrade() -> None:
    rls.disable(SCOPED)
    for table in ("tech_request_breaches", "tech_request_counters", "tech_request_timeline", "tech_requests"):
        op.drop_table(table)
