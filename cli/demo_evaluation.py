"""The demo's dealer evaluation: the manufacturer's default scheme of the six blocks (DOMAIN.md,
"Dealer evaluation"), and the last full quarter published, so the dealers' rebates are on record.

Floors and ceilings are believable targets for a mature network, not quotes from the source
documents. Parts logistics has no KPI of its own yet: repair lead time stands in (a car waiting
for a part waits in the workshop). A KPI without data in the quarter (the desk's appointments
are all recent) has no points, and an element without any has no score: the total is over the
others. KPI figures come from events, so the seed waits for the quarter's survey figures to
settle before it publishes (a published evaluation never changes).
"""

import time
from datetime import datetime
from typing import Any

from csloop_sdk import CSLoop

SCHEME_CODE = "DEALER-EVAL"
ELEMENTS: list[dict[str, Any]] = [
    {"code": "CS", "title": "CS improvement", "weight": 30, "kpis": [
        {"kpi": "csi", "weight": 2, "floor": 70, "ceiling": 90},
        {"kpi": "ssi", "weight": 1, "floor": 70, "ceiling": 90},
        {"kpi": "nps", "weight": 1, "floor": 0, "ceiling": 60}]},
    {"code": "TECH", "title": "Technical service and quality", "weight": 20, "kpis": [
        {"kpi": "fir", "weight": 2, "floor": 80, "ceiling": 98},
        {"kpi": "complaint_rate", "weight": 1, "floor": 5, "ceiling": 0}]},
    {"code": "CAPACITY", "title": "Service capacity and operations", "weight": 15, "kpis": [
        {"kpi": "appointment_show_rate", "weight": 1, "floor": 70, "ceiling": 95},
        {"kpi": "appointment_lead_days", "weight": 1, "floor": 7, "ceiling": 1}]},
    {"code": "PARTS", "title": "Parts logistics", "weight": 10, "kpis": [
        {"kpi": "repair_lead_hours", "weight": 1, "floor": 48, "ceiling": 8}]},
    {"code": "VALUE", "title": "Value chain", "weight": 15, "kpis": [
        {"kpi": "retention", "weight": 2, "floor": 40, "ceiling": 80},
        {"kpi": "service_penetration", "weight": 1, "floor": 30, "ceiling": 70}]},
    {"code": "FOUNDATION", "title": "Distributor foundation", "weight": 10, "kpis": [
        {"kpi": "followup_on_time", "weight": 1, "floor": 70, "ceiling": 98},
        {"kpi": "alert_closure", "weight": 1, "floor": 60, "ceiling": 95},
        {"kpi": "sla_first_response", "weight": 1, "floor": 70, "ceiling": 98}]},
]
TIERS = [{"name": "Platinum", "min_score": 85, "rebate_pct": 3.0}, {"name": "Gold", "min_score": 75, "rebate_pct": 2.0},
         {"name": "Silver", "min_score": 60, "rebate_pct": 1.0}]


def previous_quarter(now: datetime) -> str:
    """The last full quarter before `now` (`YYYY-Qn`)."""
    year, quarter = divmod(now.year * 4 + (now.month - 1) // 3 - 1, 4)
    return f"{year}-Q{quarter + 1}"


def seed_evaluation(api: CSLoop, manufacturer: str, *, now: datetime, wait_seconds: float = 60.0) -> dict[str, int]:
    """Define the default scheme and publish the previous quarter (once: a re-run finds it published)."""
    period = previous_quarter(now)
    api.evaluations.put_scheme(SCHEME_CODE, title="Customer service excellence (six blocks)", elements=ELEMENTS,
                               tiers=TIERS)
    _settled(lambda: api.kpi.summary(manufacturer, period).kpis["csi"].n, wait_seconds)
    if api.evaluations.get(scheme=SCHEME_CODE, period=period).published_at is None:
        api.evaluations.publish(SCHEME_CODE, period)
    return {"evaluation_schemes": 1, "evaluations_published": 1}


def _settled(count: Any, wait_seconds: float) -> None:
    """Until the count is above zero and two reads a second apart agree, or time runs out."""
    deadline = time.monotonic() + wait_seconds
    last = None
    while time.monotonic() < deadline:
        found = count()
        if found and found == last:
            return
        last = found
        time.sleep(1)
