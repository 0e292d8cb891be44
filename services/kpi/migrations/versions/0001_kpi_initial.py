"""KPI service tables: facts per source record, monthly rollups, factor sums, targets.

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

PATH = sa.String(400)


def _col(name: str, type_: sa.types.TypeEngine, nullable: bool = False, **kwargs: object) -> sa.Column:
    return sa.Column(name, type_, nullable=nullable, **kwargs)


def _facts() -> None:
    op.create_table("kpi_responses", _col("response_id", sa.Uuid(), primary_key=True),
                    _col("org_path", PATH, index=True), _col("kind", sa.String(20)),
                    _col("submitted_at", UTCDateTime), _col("index_score", sa.Float(), True),
                    _col("nps_category", sa.String(10), True), _col("factors", sa.JSON()))
    op.create_table("kpi_invitations", _col("invitation_id", sa.Uuid(), primary_key=True),
                    _col("org_path", PATH, index=True), _col("sent_at", UTCDateTime))
    op.create_table("kpi_visits", _col("visit_id", sa.Uuid(), primary_key=True), _col("org_path", PATH),
                    _col("vin", sa.String(17)), _col("visit_type", sa.String(20)), _col("opened_at", UTCDateTime),
                    _col("closed_at", UTCDateTime), _col("symptom_codes", sa.JSON()))
    op.create_index("ix_kpi_visits_path_closed", "kpi_visits", ["org_path", "closed_at"])
    op.create_index("ix_kpi_visits_vin_opened", "kpi_visits", ["vin", "opened_at"])
    op.create_table("kpi_deliveries", _col("delivery_id", sa.Uuid(), primary_key=True), _col("org_path", PATH),
                    _col("vin", sa.String(17)), _col("delivered_at", UTCDateTime))
    op.create_index("ix_kpi_deliveries_path_delivered", "kpi_deliveries", ["org_path", "delivered_at"])
    op.create_table("kpi_complaints", _col("complaint_id", sa.Uuid(), primary_key=True), _col("org_path", PATH),
                    _col("category", sa.String(30)), _col("status", sa.String(20)),
                    _col("survey_response_id", sa.Uuid(), True, index=True), _col("opened_at", UTCDateTime),
                    _col("first_response_due", UTCDateTime), _col("resolution_due", UTCDateTime),
                    _col("first_responded_at", UTCDateTime, True), _col("resolved_at", UTCDateTime, True),
                    _col("breached_first_response", sa.Boolean()), _col("breached_resolution", sa.Boolean()))
    op.create_index("ix_kpi_complaints_path_opened", "kpi_complaints", ["org_path", "opened_at"])
    op.create_table("kpi_followups", _col("followup_id", sa.Uuid(), primary_key=True), _col("org_path", PATH),
                    _col("due_at", UTCDateTime, True), _col("completed_at", UTCDateTime, True))
    op.create_index("ix_kpi_followups_path_due", "kpi_followups", ["org_path", "due_at"])
    op.create_table("kpi_alerts", _col("response_id", sa.Uuid(), primary_key=True), _col("org_path", PATH),
                    _col("raised_at", UTCDateTime))
    op.create_index("ix_kpi_alerts_path_raised", "kpi_alerts", ["org_path", "raised_at"])


def _rollups() -> None:
    op.create_table("kpi_rollups", _col("metric", sa.String(30), primary_key=True),
                    _col("month", sa.String(7), primary_key=True), _col("org_path", PATH, primary_key=True),
                    _col("n", sa.Integer()), _col("s", sa.Float()), _col("ss", sa.Float()))
    op.create_table("kpi_factor_rollups", _col("kind", sa.String(20), primary_key=True),
                    _col("month", sa.String(7), primary_key=True), _col("org_path", PATH, primary_key=True),
                    _col("factor", sa.String(60), primary_key=True), _col("n", sa.Integer()),
                    *(_col(name, sa.Float()) for name in ("sx", "sy", "sxx", "syy", "sxy")))
    op.create_table("kpi_targets", _col("org_code", sa.String(40), primary_key=True),
                    _col("kpi", sa.String(30), primary_key=True), _col("period", sa.String(7), primary_key=True),
                    _col("org_path", PATH, index=True), _col("target", sa.Float()),
                    _col("updated_by", sa.String(120)), _col("updated_at", UTCDateTime))


def upgrade() -> None:
    create_plumbing_tables()
    _facts()
    _rollups()


def downgrade() -> None:
    for table in ("kpi_targets", "kpi_factor_rollups", "kpi_rollups", "kpi_alerts", "kpi_followups",
                  "kpi_complaints", "kpi_deliveries", "kpi_visits", "kpi_invitations", "kpi_responses",
                  "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
