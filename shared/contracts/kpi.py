"""Payloads of the events the KPI service publishes (CloudEvents `data`).

Improvement plans (PDCA) escalate: an action past its due date is published once, and the
gateway passes it to the webhooks of the plan's organisation and of the organisations above
it (the parent sees its dealers' overdue actions). A published evaluation is announced so
that a distributor's or dealer's system can fetch the figures its rebate was paid on.
"""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

SOURCE = "/csloop/kpi"

IMPROVEMENT_ACTION_OVERDUE = "improvement.action_overdue"
IMPROVEMENT_ACTION_DONE = "improvement.action_done"
EVALUATION_PUBLISHED = "evaluation.published"


class _Payload(BaseModel):
    # Consumers ignore fields added later, so the producer may grow a payload freely.
    model_config = ConfigDict(extra="ignore")

    org_code: str
    org_path: str


class ImprovementActionOverdue(_Payload):
    """An action of an improvement plan passed its due date undone (published once per action)."""

    plan_id: uuid.UUID
    kpi: str
    period: str
    action_index: int
    description: str
    owner: str | None = None
    due: date
    found_at: datetime


class ImprovementActionDone(_Payload):
    """An action of an improvement plan was done. One taken from a complaint's corrective action names
    the complaint (`complaint_id`): the complaint service marks that corrective action done."""

    plan_id: uuid.UUID
    action_index: int
    description: str
    complaint_id: uuid.UUID | None = None
    done_at: datetime


class EvaluationPublished(_Payload):
    """The manufacturer published (froze) an evaluation: `org_code`/`org_path` name the publisher."""

    scheme: str
    scheme_version: int
    period: str
    published_at: datetime
    items: int
