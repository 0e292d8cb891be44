"""Quality signals (EDER: early detection, early resolution) from every channel's quality evidence.

A case is evidence when it names a vehicle model and symptom codes and is one of (its kind):
- complaint: a product-quality case;
- survey: the case a survey alert on a "not fixed" answer opened;
- follow_up: the case a follow-up call that found the fix failed (`not_fixed`) opened.
The consumers give alert and follow-up cases the model and symptoms of the visit only when they
are such evidence, and an alert or a call opens one case, so each origin counts once.

Each piece of evidence joins one group per (model, symptom). When a group reaches the thresholds
within the window, the manufacturer side hears of it once: `quality.signal.raised`, owned by the
common ancestor of the dealers, listing its sources by kind.
"""

from datetime import datetime, timedelta

from services.complaint import domain, events
from services.complaint.models import Complaint, ComplaintSymptom, QualitySignal
from services.complaint.repository import ComplaintRepository
from services.complaint.settings import ComplaintSettings
from shared.org_path import OrgPath

SOURCE_KINDS = ("complaint", "survey", "follow_up")


def evidence_kind(case: Complaint) -> str | None:
    if not case.vehicle_model or not case.symptom_codes:
        return None
    if case.followup_id is not None:
        return "follow_up"
    if case.channel == "survey_alert" and case.survey_response_id is not None and case.category == "repair_quality":
        return "survey"
    return "complaint" if case.category == "product_quality" else None


def sources(group: list[ComplaintSymptom]) -> list[dict]:
    """The group's evidence by kind, in SOURCE_KINDS order, kinds without evidence left out."""
    by_kind = {kind: [str(row.complaint_id) for row in group if row.source == kind] for kind in SOURCE_KINDS}
    return [{"kind": kind, "count": len(ids), "complaint_ids": ids} for kind, ids in by_kind.items() if ids]


def _rule(settings: ComplaintSettings) -> domain.SignalRule:
    return domain.SignalRule(settings.quality_min_cases, settings.quality_min_dealers,
                             timedelta(days=settings.quality_window_days))


async def check(repo: ComplaintRepository, settings: ComplaintSettings, case: Complaint, now: datetime) -> None:
    kind = evidence_kind(case)
    if kind is None:
        return
    assert case.vehicle_model is not None
    rule = _rule(settings)
    async with repo.across_the_tree():
        for symptom in sorted(set(case.symptom_codes)):
            await repo.lock_group(case.vehicle_model, symptom)
            await repo.add(ComplaintSymptom(complaint_id=case.id, symptom_code=symptom, vehicle_model=case.vehicle_model,
                                            dealer_code=case.dealer_code, org_path=case.org_path, opened_at=case.opened_at,
                                            source=kind))
            group = await repo.group_cases(case.vehicle_model, symptom, now - rule.window)
            last = await repo.last_signal_at(case.vehicle_model, symptom)
            window_start = domain.signal_due(rule, [(row.opened_at, row.dealer_code) for row in group], now, last)
            if window_start is None:
                continue
            values = {
                "org_path": OrgPath.common_ancestor(row.org_path for row in group), "vehicle_model": case.vehicle_model,
                "symptom_code": symptom, "window_start": window_start, "case_count": len(group),
                "dealer_codes": sorted({row.dealer_code for row in group}),
                "complaint_ids": [str(row.complaint_id) for row in group], "sources": sources(group), "created_at": now,
            }
            if signal_id := await repo.record_signal(values):
                await repo.publish(events.quality_signal_raised(QualitySignal(id=signal_id, **values)))
