"""The history rules of survey integrity read a group's latest members (issue 17): the indexes by
dealer and device, and by dealer and free text, gain the submission time, so a submission reads a
bounded number of its group's members, newest first, however large the group has grown (one
showroom tablet answering thousands of surveys). They replace the two-column indexes, which they
serve as well.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (old index, new index, the group's column)
INDEXES = (("ix_survey_responses_dealer_device", "ix_survey_responses_dealer_device_time", "device_hash"),
           ("ix_survey_responses_dealer_text", "ix_survey_responses_dealer_text_time", "text_hash"))


def upgrade() -> None:
    for old, new, column in INDEXES:
        op.create_index(new, "survey_responses", ["dealer_code", column, "created_at"])
        op.drop_index(old, "survey_responses")


def downgrade() -> None:
    for old, new, column in INDEXES:
        op.create_index(old, "survey_responses", ["dealer_code", column])
        op.drop_index(new, "survey_responses")
