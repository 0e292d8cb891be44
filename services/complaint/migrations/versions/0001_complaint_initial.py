"""Complaint service tables: cases, timeline, counters, SLA policies and breaches, symptoms, quality signals.

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


def _complaints() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("dealer_code", sa.String(40), nullable=False, index=True),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("handling_org_code", sa.String(40), nullable=False),
        sa.Column("handling_org_path", sa.String(400), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), index=True),
        sa.Column("vin", sa.String(17)),
        sa.Column("ro_number", sa.String(60)),
        sa.Column("survey_response_id", sa.Uuid()),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(120)),
        sa.Column("vehicle_model", sa.String(60)),
        sa.Column("symptom_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("first_responded_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.JSON()),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("clock_stopped_at", UTCDateTime),
        sa.Column("first_response_due", UTCDateTime, nullable=False),
        sa.Column("resolution_due", UTCDateTime, nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False, index=True),
        sa.Column("resolution", sa.JSON()),
        sa.Column("erased_at", UTCDateTime),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_complaints_created_at_id", "complaints", ["created_at", "id"])
    op.create_index("uq_complaints_alert_response", "complaints", ["survey_response_id"], unique=True,
                    sqlite_where=sa.text("channel = 'survey_alert'"),
                    postgresql_where=sa.text("channel = 'survey_alert'"))
    op.create_table(
        "complaint_timeline",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Uuid(),
                  sa.ForeignKey("complaints.id", name="fk_complaint_timeline_complaint_id_complaints"),
                  nullable=False, index=True),
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


def _sla_and_quality() -> None:
    op.create_table(
        "complaint_counters",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.JSON()),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("org_path", "priority", name="uq_sla_policies_org_path_priority"),
    )
    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("complaint_id", sa.Uuid(),
                  sa.ForeignKey("complaints.id", name="fk_sla_breaches_complaint_id_complaints"), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("complaint_id", "kind", name="uq_sla_breaches_complaint_id_kind"),
    )
    op.create_table(
        "complaint_symptoms",
        sa.Column("complaint_id", sa.Uuid(),
                  sa.ForeignKey("complaints.id", name="fk_complaint_symptoms_complaint_id_complaints"),
                  primary_key=True),
        sa.Column("symptom_code", sa.String(40), primary_key=True),
        sa.Column("vehicle_model", sa.String(60), nullable=False),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_complaint_symptoms_group", "complaint_symptoms", ["vehicle_model", "symptom_code", "opened_at"])
    op.create_table(
        "quality_signals",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False, index=True),
        sa.Column("vehicle_model", sa.String(60), nullable=False),
        sa.Column("symptom_code", sa.String(40), nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("dealer_codes", sa.JSON(), nullable=False),
        sa.Column("complaint_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("vehicle_model", "symptom_code", "window_start",
                            name="uq_quality_signals_vehicle_model_symptom_code_window_start"),
    )
    op.create_index("ix_quality_signals_created_at_id", "quality_signals", ["created_at", "id"])


def upgrade() -> None:
    create_plumbing_tables()
    _complaints()
    _sla_and_quality()
