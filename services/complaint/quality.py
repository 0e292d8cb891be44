"""Quality signals (EDER: early detection, early resolution) from product-quality cases.

A product-quality case that names a vehicle model and symptom codes joins one group per
(model, symptom). When a group reaches the thresholds within the window, the manufacturer
side hears of it once: `quality.signal.raised`, owned by the common ancestor of the dealers.
"""

from datetime import datetime, timedelta

from services.complaint import domain, events
from services.complaint.models import Complaint, ComplaintSymptom, QualitySignal
from services.complaint.repository import ComplaintRepository
from services.complaint.settings import ComplaintSettings
from shared.org_path import OrgPath


def _rule(settings: ComplaintSettings) -> domain.SignalRule:
    return domain.SignalRule(settings.quality_min_cases, settings.quality_min_dealers,
                             timedelta(days=settings.quality_window_days))


async def check(repo: ComplaintRepository, settings: ComplaintSettings, case: Complaint, now: datetime) -> None:
    if case.category != "product_quality" or not case.vehicle_model or not case.symptom_codes:
        return
    rule = _rule(settings)
    async with repo.across_the_tree():
        for symptom in sorted(set(case.symptom_codes)):
            await repo.add(ComplaintSymptom(complaint_id=case.id, symptom_code=symptom, vehicle_model=case.vehicle_model,
                                            dealer_code=case.dealer_code, org_path=case.org_path, opened_at=case.opened_at))
            group = await repo.group_cases(case.vehicle_model, symptom, now - rule.window)
            last = await repo.last_signal_at(case.vehicle_model, symptom)
            window_start = domain.signal_due(rule, [(row.opened_at, row.dealer_code) for row in group], now, last)
            if window_start is None:
                continue
            values = {
                "org_path": OrgPath.common_ancestor(row.org_path for row in group), "vehicle_model": case.vehicle_model,
                "symptom_code": symptom, "window_start": window_start, "case_count": len(group),
                "dealer_codes": sorted({row.dealer_code for row in group}),
                "complaint_ids": [str(row.complaint_id) for row in group], "created_at": now,
            }
            if signal_id := await repo.record_signal(values):
                await repo.publish(events.quality_signal_raised(QualitySignal(id=signal_id, **values)))
