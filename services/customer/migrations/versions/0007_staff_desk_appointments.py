"""Staff, the follow-up desk (assignment, attempts, settings), appointments, and the complaint
read model of the screen pop. The free-text names of deliveries, visits and interactions become
staff codes: one staff row per distinct trimmed name per dealer, `code` = that text.

Revision ID: 0007
Revises: 0006
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NEW_TABLES = ("staff", "follow_up_attempts", "desk_settings", "appointments", "complaint_summaries")
# Where staff names were kept as free text, and the role their people have.
NAMED_BY_TEXT = (("deliveries", "sales_consultant", "sales_consultant"), ("service_visits", "advisor", "service_advisor"),
                 ("interactions", "agent", "cr_agent"))


# The staff table as this migration writes it (typed, so ids and times bind on SQLite too).
STAFF = sa.table("staff", sa.column("id", sa.Uuid()), sa.column("dealer_code", sa.String()),
                 sa.column("org_path", sa.String()), sa.column("created_at", UTCDateTime),
                 sa.column("updated_at", UTCDateTime), sa.column("code", sa.String()), sa.column("name", sa.String()),
                 sa.column("role", sa.String()), sa.column("active", sa.Boolean()), sa.column("version", sa.Integer()))


def _owned(table: str, *columns: sa.Column) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        *columns,
    )
    op.create_index(f"ix_{table}_org_path", table, ["org_path"], postgresql_ops={"org_path": "varchar_pattern_ops"})


def upgrade() -> None:
    _owned("staff",
           sa.Column("code", sa.String(100), nullable=False), sa.Column("name", sa.String(200), nullable=False),
           sa.Column("role", sa.String(20), nullable=False), sa.Column("active", sa.Boolean(), nullable=False),
           sa.Column("version", sa.Integer(), nullable=False),
           sa.UniqueConstraint("dealer_code", "code", name="uq_staff_dealer_code"))
    op.create_index("ix_staff_updated_at_id", "staff", ["updated_at", "id"])
    _owned("appointments",
           sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_appointments_customer_id_customers"),
                     nullable=False, index=True),
           sa.Column("vin", sa.String(17)), sa.Column("requested_at", UTCDateTime, nullable=False),
           sa.Column("slot_at", UTCDateTime, nullable=False), sa.Column("service_type", sa.String(20)),
           sa.Column("advisor", sa.String(100)), sa.Column("status", sa.String(20), nullable=False),
           sa.Column("status_changed_at", UTCDateTime), sa.Column("version", sa.Integer(), nullable=False))
    op.create_index("ix_appointments_dealer_slot", "appointments", ["dealer_code", "slot_at"])
    op.create_index("ix_appointments_updated_at_id", "appointments", ["updated_at", "id"])
    _owned("follow_up_attempts",
           sa.Column("followup_id", sa.Uuid(), sa.ForeignKey("follow_ups.id", name="fk_follow_up_attempts_followup_id_follow_ups"),
                     nullable=False, index=True),
           sa.Column("attempted_at", UTCDateTime, nullable=False), sa.Column("reached", sa.Boolean(), nullable=False),
           sa.Column("channel", sa.String(20), nullable=False), sa.Column("satisfaction", sa.String(20)),
           sa.Column("issue_codes", sa.JSON(), nullable=False), sa.Column("note", sa.Text()),
           sa.Column("agent", sa.String(100)),
           sa.Column("interaction_id", sa.Uuid(),
                     sa.ForeignKey("interactions.id", name="fk_follow_up_attempts_interaction_id_interactions")))
    _owned("desk_settings",
           sa.Column("default_assignees", sa.JSON(), nullable=False),
           sa.Column("maintenance_followups", sa.Boolean(), nullable=False),
           sa.Column("max_attempts", sa.Integer(), nullable=False), sa.Column("version", sa.Integer(), nullable=False),
           sa.UniqueConstraint("dealer_code", name="uq_desk_settings_dealer_code"))
    op.create_table(
        "complaint_summaries",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("customer_id", sa.Uuid()), sa.Column("followup_id", sa.Uuid()),
        sa.Column("category", sa.String(40), nullable=False), sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(30), nullable=False), sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False), sa.Column("resolution_due", UTCDateTime),
        sa.Column("changed_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_complaint_summaries_customer_open", "complaint_summaries", ["customer_id", "is_open"])
    op.create_index("ix_complaint_summaries_org_path", "complaint_summaries", ["org_path"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})

    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("assignee", sa.String(100)))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"))
        batch.add_column(sa.Column("reached", sa.Boolean()))
        batch.add_column(sa.Column("satisfaction", sa.String(20)))
        batch.add_column(sa.Column("issue_codes", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("complaint_id", sa.Uuid()))
    with op.batch_alter_table("service_visits") as batch:
        batch.add_column(sa.Column("technician", sa.String(100)))
        batch.add_column(sa.Column("appointment_id", sa.Uuid()))
        batch.create_foreign_key("fk_service_visits_appointment_id_appointments", "appointments",
                                 ["appointment_id"], ["id"])
        batch.create_index("ix_service_visits_appointment_id", ["appointment_id"])
    _staff_from_free_text()
    rls.enable(list(NEW_TABLES))


def _staff_from_free_text() -> None:
    """A staff row per distinct trimmed name per dealer (the first role met wins), and the records'
    values trimmed to that code, so a DMS that sends names keeps working (API.md, Staff).

    Trimmed as the API trims a code (Python's str.strip: tabs, newlines and the ideographic space
    U+3000 too, which SQL's TRIM keeps), so the code made here is the one a request will send.
    The rows are read across every dealer: under row-level security (the services migrate as a
    plain role) nothing is visible without the system path."""
    bind = op.get_bind()
    rls.apply_setting(bind, rls.SYSTEM_PATH)
    now = datetime.now(UTC)
    seen: set[tuple[str, str]] = set()
    for table, column, role in NAMED_BY_TEXT:
        rows = bind.execute(sa.text(f"SELECT DISTINCT dealer_code, org_path, {column} FROM {table} "
                                    f"WHERE {column} IS NOT NULL")).all()
        for dealer_code, org_path, text in sorted(rows):
            code = text.strip() or None
            if code != text:
                # A changed record moves to the end of the `updated_since` feed, so a sync reads the code.
                bind.execute(sa.text(f"UPDATE {table} SET {column} = :code, updated_at = :now "
                                     f"WHERE dealer_code = :dealer_code AND {column} = :text")
                             .bindparams(sa.bindparam("now", type_=UTCDateTime)),
                             {"code": code, "now": now, "dealer_code": dealer_code, "text": text})
            if code is None or (dealer_code, code) in seen:
                continue
            seen.add((dealer_code, code))
            bind.execute(STAFF.insert().values(
                id=uuid.uuid4(), dealer_code=dealer_code, org_path=org_path, created_at=now, updated_at=now, code=code,
                name=code, role=role, active=True, version=1))


def downgrade() -> None:
    rls.disable(list(NEW_TABLES))
    with op.batch_alter_table("service_visits") as batch:
        batch.drop_index("ix_service_visits_appointment_id")
        batch.drop_constraint("fk_service_visits_appointment_id_appointments", type_="foreignkey")
        batch.drop_column("appointment_id")
        batch.drop_column("technician")
    with op.batch_alter_table("follow_ups") as batch:
        for column in ("complaint_id", "issue_codes", "satisfaction", "reached", "max_attempts", "attempts", "assignee"):
            batch.drop_column(column)
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
