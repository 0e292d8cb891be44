"""The CR desk's KPIs (issue 14): follow-up results, appointments, visits' reported open times.

kpi_followups learns each task's kind, status, the result of the call that closed it, when
it was found unreachable and whose call it is. Tasks known before this revision are done
when they were completed (a legacy completion: reached) and open otherwise; their kind was
never kept, so they enter no contact rate until `csloop kpi rebuild` replays them.
kpi_appointments holds each appointment as its last `appointment.changed` left it.
kpi_visits.opened_reported: a visit stored with its close as its open time reported none
(until now the recorder filled the gap that way), and has no repair lead time.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FOLLOWUP_COLUMNS = ("kind", "status", "reached", "satisfaction", "unreachable_at", "assignee", "assigned_at")


def upgrade() -> None:
    with op.batch_alter_table("kpi_followups") as table:
        table.add_column(sa.Column("kind", sa.String(20), nullable=True))
        table.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="open"))
        table.add_column(sa.Column("reached", sa.Boolean(), nullable=True))
        table.add_column(sa.Column("satisfaction", sa.String(20), nullable=True))
        table.add_column(sa.Column("unreachable_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("assignee", sa.String(100), nullable=True))
        table.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
    rls.apply_setting(op.get_bind(), rls.SYSTEM_PATH)  # the updates below reach every dealer's rows
    op.execute("UPDATE kpi_followups SET status = 'done', reached = true WHERE completed_at IS NOT NULL")

    op.add_column("kpi_visits", sa.Column("opened_reported", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE kpi_visits SET opened_reported = false WHERE opened_at = closed_at")

    op.create_table(
        "kpi_appointments",
        sa.Column("appointment_id", sa.Uuid(), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("booked_at", UTCDateTime(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("advisor", sa.String(100), nullable=True),
    )
    op.create_index("ix_kpi_appointments_path_slot", "kpi_appointments", ["org_path", "slot_at"])
    op.create_index("ix_kpi_appointments_path_booked", "kpi_appointments", ["org_path", "booked_at"])
    rls.enable(["kpi_appointments"])


def downgrade() -> None:
    rls.disable(["kpi_appointments"])
    op.drop_table("kpi_appointments")
    op.drop_column("kpi_visits", "opened_reported")
    with op.batch_alter_table("kpi_followups") as table:
        for column in FOLLOWUP_COLUMNS:
            table.drop_column(column)
