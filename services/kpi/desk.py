"""The KPIs of the CR desk's work (KPI.md): follow-ups on time, contacted and dissatisfied,
appointments kept and their lead time, repair lead time. Formulas over records, no SQL.

Each answers Aggs per bucket (`group` maps a record's dealer path to its bucket), pooled from
the records' counts and values, so an org above dealers is never a mean of its dealers' means.
"""

from collections.abc import Iterable
from datetime import datetime

from services.kpi.domain import FIR_TYPES, Agg, Booking, Grouper, Task, Visit, hours, of_value, tally
from shared.contracts.customer import CALL_KINDS

DAY_HOURS = 24.0


def _means(rows: Iterable[tuple[str, float]], group: Grouper) -> dict[str, Agg]:
    out: dict[str, Agg] = {}
    for path, value in rows:
        key = group(path)
        out[key] = out.get(key, Agg()) + of_value(value)
    return out


def counts(task: Task, now: datetime) -> bool:
    """KPI.md's rule for every follow-up KPI: a task done or unreachable counts, one still open only
    once its due time has passed, a cancelled one never."""
    if task.status == "open":
        return task.due_at is not None and task.due_at < now
    return task.status in ("done", "unreachable")


def _closed_at(task: Task) -> datetime | None:
    """When the task stopped waiting on the agent: done, or given up on as unreachable."""
    return task.completed_at if task.status == "done" else task.unreachable_at if task.status == "unreachable" else None


def on_time(task: Task) -> bool:
    """Done, or found unreachable, by the due time (issue 14: unreachable before it is on time)."""
    closed = _closed_at(task)
    return closed is not None and task.due_at is not None and closed <= task.due_at


def reached(task: Task) -> bool:
    """Done by a reached call; a task done before calls had results (legacy `/complete`) counts as reached."""
    return task.status == "done" and task.reached is not False


def followups(tasks: list[Task], now: datetime, group: Grouper) -> dict[str, dict[str, Agg]]:
    """followup_on_time over every task due in the period; the contact and dissatisfied rates over
    calls only (CALL_KINDS: greetings are not measured by their answer)."""
    due = [t for t in tasks if counts(t, now)]
    calls = [t for t in due if t.kind in CALL_KINDS]
    return {
        "followup_on_time": tally(((t.org_path, on_time(t)) for t in due), group),
        "followup_contact_rate": tally(((t.org_path, reached(t)) for t in calls), group),
        "followup_dissatisfied_rate": tally(((t.org_path, t.satisfaction == "dissatisfied")
                                             for t in calls if reached(t)), group),
    }


def appointments(bookings: list[Booking], start: datetime, end: datetime, group: Grouper) -> dict[str, dict[str, Agg]]:
    """Show rate: of the appointments whose slot is in the period and that arrived or did not show
    (booked ones have not happened yet, cancelled ones will not), the share that arrived. Lead
    days: from the request to the slot, appointments booked (created) in the period and not cancelled."""
    return {
        "appointment_show_rate": tally(((b.org_path, b.status == "arrived") for b in bookings
                                        if start <= b.slot_at < end and b.status in ("arrived", "no_show")), group),
        "appointment_lead_days": _means(((b.org_path, hours(b.requested_at, b.slot_at) / DAY_HOURS) for b in bookings
                                         if start <= b.booked_at < end and b.status != "cancelled"), group),
    }


def repair_lead_hours(closed: Iterable[Visit], group: Grouper) -> dict[str, Agg]:
    """Hours from open to close of the repair and warranty visits closed in the period that reported
    their open time (one that did not would count as zero hours)."""
    return _means(((v.org_path, hours(v.opened_at, v.closed_at)) for v in closed
                   if v.visit_type in FIR_TYPES and v.opened_reported), group)
