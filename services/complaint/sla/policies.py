"""SLA policies and each case's clock: which policy governs a case, and storing the clock on it.

A policy set at an org governs its whole subtree; the nearest one wins (a dealer's own beats
its distributor's, which beats the manufacturer's), and without any the built-in defaults
of `domain.DEFAULT_HOURS` apply. A case keeps a copy of its policy from the day it opened.
"""

from datetime import datetime, timedelta
from typing import Any

from services.complaint.sla.business_hours import Calendar
from services.complaint.domain import DEFAULT_HOURS, Clock
from services.complaint.models import Complaint, SlaPolicy
from services.complaint.repository import ComplaintRepository
from services.complaint.schemas import SlaPoliciesPut, SlaPoliciesRead, SlaPolicyRead
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import Forbidden


def _nearest(policies: list[SlaPolicy], priority: str) -> SlaPolicy | None:
    matching = [policy for policy in policies if policy.priority == priority]
    return max(matching, key=lambda policy: len(policy.org_path), default=None)


def _calendar(raw: dict[str, Any] | None) -> Calendar | None:
    return Calendar.model_validate(raw) if raw else None


async def clock_for(repo: ComplaintRepository, org_path: str, priority: str, opened_at: datetime) -> Clock:
    policy = _nearest(await repo.governing_policies(org_path), priority)
    if policy is None:
        first, resolution = DEFAULT_HOURS[priority]
        return Clock(opened_at, timedelta(hours=first), timedelta(hours=resolution), None)
    return Clock(opened_at, timedelta(minutes=policy.first_response_minutes),
                 timedelta(minutes=policy.resolution_minutes), _calendar(policy.calendar))


def clock_of(case: Complaint) -> Clock:
    return Clock(case.opened_at, timedelta(minutes=case.first_response_minutes),
                 timedelta(minutes=case.resolution_minutes), _calendar(case.calendar),
                 timedelta(seconds=case.paused_seconds))


def clock_columns(clock: Clock) -> dict[str, Any]:
    """The case columns that hold `clock` and the due times it gives."""
    return {
        "first_response_minutes": int(clock.first_response.total_seconds() // 60),
        "resolution_minutes": int(clock.resolution.total_seconds() // 60),
        "calendar": clock.calendar.model_dump(mode="json") if clock.calendar else None,
        "paused_seconds": int(clock.paused.total_seconds()),
        "first_response_due": clock.first_response_due(), "resolution_due": clock.resolution_due(),
    }


def stop_clock(case: Complaint, now: datetime) -> None:
    case.clock_stopped_at = now


def resume_clock(case: Complaint, now: datetime) -> None:
    """Due times move later by the working time the clock stood still."""
    stopped_at = case.clock_stopped_at or now
    clock = clock_of(case).resumed(stopped_at, now)
    case.paused_seconds = int(clock.paused.total_seconds())
    # A target already met keeps the due time it was met against.
    if case.first_responded_at is None:
        case.first_response_due = clock.first_response_due()
    case.resolution_due = clock.resolution_due()
    case.clock_stopped_at = None


# --- policies API ------------------------------------------------------------------------------

def _read(policy: SlaPolicy | None, priority: str) -> SlaPolicyRead:
    if policy is None:
        first, resolution = DEFAULT_HOURS[priority]
        return SlaPolicyRead(priority=priority, first_response_hours=first, resolution_hours=resolution,  # type: ignore[arg-type]
                             calendar=None, source="default")
    return SlaPolicyRead(priority=priority, first_response_hours=policy.first_response_minutes / 60,  # type: ignore[arg-type]
                         resolution_hours=policy.resolution_minutes / 60, calendar=_calendar(policy.calendar),
                         source=policy.org_path)


async def effective_policies(repo: ComplaintRepository, org_path: str) -> SlaPoliciesRead:
    policies = await repo.governing_policies(org_path)
    return SlaPoliciesRead(org_path=org_path, items=[_read(_nearest(policies, p), p) for p in DEFAULT_HOURS])


async def save_policies(repo: ComplaintRepository, data: SlaPoliciesPut, org_code: str, org_path: str) -> SlaPoliciesRead:
    """Only the network (manufacturer, distributor) sets SLAs: a dealer does not grade its own homework."""
    principal: Principal = repo.principal
    if principal.org_kind == "dealer":
        raise Forbidden("SLA policies are set by the manufacturer or a distributor")
    for item in data.policies:
        await repo.save_policy({
            "org_code": org_code, "org_path": org_path, "priority": item.priority,
            "first_response_minutes": round(item.first_response_hours * 60),
            "resolution_minutes": round(item.resolution_hours * 60),
            "calendar": item.calendar.model_dump(mode="json") if item.calendar else None,
            "updated_by": principal.subject, "updated_at": utcnow(),
        })
    return await effective_policies(repo, org_path)
