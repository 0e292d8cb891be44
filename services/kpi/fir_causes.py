"""Why first fixes failed (issue 18 item 2): `GET /v1/kpi/fir-causes`.

The fixes and failures are exactly those of the `fir` KPI (KPI.md): repair and warranty visits of
the org's subtree closed in the period, failed by a later repair/warranty visit of the same VIN at
any dealer sharing a symptom within 30 days (`domain.fails`). A failure's cause is the
`repeat_cause` the repeat visit recorded: of the visits that failed the fix, the earliest opened
that records one; `unknown` when none does.
"""

import uuid
from collections import Counter

from services.kpi import domain
from services.kpi.domain import Visit
from services.kpi.repository import KpiRepository
from services.kpi.schemas import FirCause, FirCauses
from shared.orgs import OrgInfo
from shared.types import Period

CAUSES = ("diagnosis", "parts", "workmanship", "product", "other", "unknown")


def failing_repeats(fixes: list[Visit], later: list[Visit]) -> list[tuple[Visit, list[Visit]]]:
    """Each failed fix with the visits that failed it, earliest opened first."""
    repeats = domain.by_vin(later)
    out = []
    for fix in fixes:
        failed_by = [v for v in repeats.get(fix.vin, ()) if domain.fails(fix, v)]
        if failed_by:
            out.append((fix, sorted(failed_by, key=lambda v: (v.opened_at, str(v.visit_id)))))
    return out


def tally(failures: list[tuple[Visit, list[Visit]]], causes: dict[uuid.UUID, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _fix, repeats in failures:
        counts[next((causes[v.visit_id] for v in repeats if v.visit_id in causes), "unknown")] += 1
    return counts


async def fir_causes(repo: KpiRepository, org: OrgInfo, period: Period) -> FirCauses:
    closed = await repo.visits_closed(org.path, period.start, period.end, domain.FIR_TYPES)
    fixes = [v for v in closed if v.visit_type in domain.FIR_TYPES]
    later = await repo.visits_of_vins({v.vin for v in fixes}, period.start, period.end + domain.FIR_WINDOW) if fixes else []
    failures = failing_repeats(fixes, later)
    causes = await repo.repeat_causes({v.visit_id for _, repeats in failures for v in repeats if v.visit_id}) if failures else {}
    counts = tally(failures, causes)
    return FirCauses(org_code=org.code, period=period.label, fixes=len(fixes), failures=len(failures), items=[
        FirCause(cause=cause, count=counts[cause],  # type: ignore[arg-type]
                 share=round(100.0 * counts[cause] / len(failures), 1) if failures else None) for cause in CAUSES])
