"""People scorecards and department figures (KPI.md, People KPIs; issue 15).

The formulas are the org figures' (domain.interval, domain.rank_key, domain.fir, desk.followups),
run over the records that carry a staff code, pooled per person instead of per org:
- csi, and nps from CSI surveys: to the repair order's advisor (as service_advisor) and its
  technician (as technician); ssi, and nps from SSI surveys: to the sales consultant;
- fir: a repair/warranty visit's first-time fix to its advisor and its technician;
- the follow-up KPIs: to the task's assignee, under the assignee's role on the dealer's staff
  record when it is one of the attributed roles, else as cr_agent (a manager, or a code the KPI
  service has no staff record of, making calls is doing the CR desk's work).
A person is a staff code of one dealer (codes are unique within a dealer only). People are ranked
among those of the same role, by the pessimistic end of the 95% interval as the dealer ranking
is, and only from `min_n` records on.

Departments pool the same attributed records per dealer, each record once (a response naming
both an advisor and a technician counts once for service): service (advisors and technicians),
sales (sales consultants), cr (assigned follow-ups).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from services.kpi import desk, domain
from services.kpi.domain import Agg, Grouper, Task, Visit
from services.kpi.reports import shown
from services.kpi.repository import KpiRepository
from services.kpi.schemas import Department, DepartmentFigure, KpiDepartments, KpiPeople, PeopleKpi, PeopleRole
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.orgs import OrgInfo
from shared.types import Period

Record = TypeVar("Record")
# (dealer path, staff code, the role the records are attributed under)
Person = tuple[str, str, PeopleRole]
Formula = Callable[[list[Record], Grouper], dict[str, Agg]]

ROLES: tuple[PeopleRole, ...] = ("service_advisor", "technician", "sales_consultant", "cr_agent")
_RANKED_ROLES: dict[str, PeopleRole] = {role: role for role in ROLES}
# The survey column each role's responses are attributed through, and the survey kind it answers.
SURVEY_ROLES: dict[PeopleRole, tuple[str, str]] = {
    "service_advisor": ("advisor", "csi"), "technician": ("technician", "csi"),
    "sales_consultant": ("sales_consultant", "ssi")}
SURVEY_KPI_ROLES: dict[str, tuple[PeopleRole, ...]] = {
    "csi": ("service_advisor", "technician"), "ssi": ("sales_consultant",),
    "nps": ("service_advisor", "technician", "sales_consultant")}
SURVEY_DEPARTMENTS: dict[str, tuple[Department, ...]] = {
    "csi": ("service",), "ssi": ("sales",), "nps": ("service", "sales")}
DEPARTMENT_SURVEYS: dict[Department, tuple[str, tuple[str, ...]]] = {
    "service": ("csi", ("advisor", "technician")), "sales": ("ssi", ("sales_consultant",))}
_ALONE = ""


def _alone(_path: str) -> str:
    """The grouper of a formula run over one person's records: all of them in one bucket."""
    return _ALONE


def each(groups: dict[Person, list[Record]], formula: Formula[Record]) -> dict[Person, Agg]:
    """A formula of KPI.md run over each person's records alone (no second copy of the formula)."""
    out: dict[Person, Agg] = {}
    for person, records in groups.items():
        agg = formula(records, _alone).get(_ALONE)
        if agg is not None and agg.n:
            out[person] = agg
    return out


def fir_formula(later: list[Visit]) -> Formula[Visit]:
    """domain.fir over some fixes, given the repeats of every fix's VIN (read once for everyone)."""
    repeats = domain.by_vin(later)

    def formula(fixes: list[Visit], group: Grouper) -> dict[str, Agg]:
        vins = {visit.vin for visit in fixes}
        return domain.fir(fixes, [repeat for vin in vins for repeat in repeats.get(vin, ())], group)
    return formula


def visits_by_person(staffed: Iterable[tuple[Visit, str | None, str | None]]) -> dict[Person, list[Visit]]:
    out: dict[Person, list[Visit]] = {}
    for visit, advisor, technician in staffed:
        for code, role in ((advisor, "service_advisor"), (technician, "technician")):
            if code:
                out.setdefault((visit.org_path, code, role), []).append(visit)
    return out


def tasks_by_person(assigned: Iterable[tuple[Task, str]],
                    roles: dict[tuple[str, str], tuple[str, str]]) -> dict[Person, list[Task]]:
    out: dict[Person, list[Task]] = {}
    for task, assignee in assigned:
        role = followup_role(roles.get((task.org_path, assignee)))
        out.setdefault((task.org_path, assignee, role), []).append(task)
    return out


def followup_role(member: tuple[str, str] | None) -> PeopleRole:
    """An assignee's own role when it is one people are ranked under, else cr_agent (module doc)."""
    return _RANKED_ROLES.get(member[1], "cr_agent") if member else "cr_agent"


@dataclass(frozen=True)
class Ranked:
    person: Person
    agg: Agg
    low: float | None
    high: float | None
    rank: int | None


def ranked(kpi: str, parts: dict[Person, Agg], min_n: int) -> list[Ranked]:
    """Per role: the people with `min_n` records or more ranked by the pessimistic end of their interval
    (floored by the role's pooled variance, as the dealer ranking is), then the others unranked; ties by
    dealer path and code."""
    by_role: dict[PeopleRole, dict[Person, Agg]] = {}
    for person, agg in parts.items():
        by_role.setdefault(person[2], {})[person] = agg
    out: list[Ranked] = []
    for role in ROLES:
        mine = by_role.get(role, {})
        floor = domain.variance(domain.pool(mine.values())) or 0.0
        rows = []
        for person, agg in mine.items():
            low, high = domain.interval(kpi, agg, floor)
            rows.append((agg.n < min_n, -domain.rank_key(kpi, agg.value, low, high), person, agg, low, high))
        rows.sort()
        out += [Ranked(person, agg, low, high, None if below else i)
                for i, (below, _key, person, agg, low, high) in enumerate(rows, start=1)]
    return out


def _dealer_codes(paths: Iterable[str]) -> dict[str, str]:
    """Dealer code by path, each distinct path parsed once (a network's 4,000 people work at 500 dealers)."""
    return {path: OrgPath(path).code or "" for path in set(paths)}


@dataclass
class PeopleReports:
    repo: KpiRepository

    async def people(self, kpi: PeopleKpi, role: PeopleRole | None, org: OrgInfo, period: Period,
                     min_n: int) -> KpiPeople:
        parts, members = await self._parts(kpi, org.path, period)
        if role is not None:
            parts = {person: agg for person, agg in parts.items() if person[2] == role}
        codes = _dealer_codes(person[0] for person in parts)
        # Plain dicts: the answer validates all of them at once (pydantic's core), as the dealer ranking's.
        items = [{"staff_code": code, "name": members.get((path, code), (code,))[0], "role": role_,
                  "dealer_code": codes[path], "value": shown(r.agg.value), "n": r.agg.n, "ci_low": shown(r.low),
                  "ci_high": shown(r.high), "rank": r.rank}
                 for r in ranked(kpi, parts, min_n) for path, code, role_ in (r.person,)]
        return KpiPeople(kpi=kpi, period=period.label, org_code=org.code, role=role, min_n=min_n, items=items)

    async def _parts(self, kpi: PeopleKpi, org_path: str,
                     period: Period) -> tuple[dict[Person, Agg], dict[tuple[str, str], tuple[str, str]]]:
        """Each person's Agg of the KPI, and the staff records (names, roles) of the org's dealers."""
        repo, start, end = self.repo, period.start, period.end
        if kpi in SURVEY_KPI_ROLES:
            roles = SURVEY_KPI_ROLES[kpi]
            members, *scores = await repo.read_all(repo.staff_members(org_path), *(
                repo.staff_scores(kpi, SURVEY_ROLES[role][1], SURVEY_ROLES[role][0], org_path, start, end)
                for role in roles))
            return {(path, code, role): agg for role, by_person in zip(roles, scores, strict=True)
                    for (path, code), agg in by_person.items()}, members
        if kpi == "fir":
            members, staffed = await repo.read_all(repo.staff_members(org_path),
                                                   repo.staffed_visits_closed(org_path, start, end))
            later = await self._repeats([visit for visit, _a, _t in staffed], period)
            return each(visits_by_person(staffed), fir_formula(later)), members
        members, assigned = await repo.read_all(repo.staff_members(org_path),
                                                repo.assigned_followups_due(org_path, start, end))
        now = utcnow()
        return each(tasks_by_person(assigned, members),
                    lambda tasks, group: desk.followups(tasks, now, group)[kpi]), members

    async def _repeats(self, fixes: list[Visit], period: Period) -> list[Visit]:
        """Any dealer's visits that may fail these fixes (the org FIR's look-up: repositories' doc)."""
        if not fixes:
            return []
        return await self.repo.visits_of_vins({v.vin for v in fixes}, period.start, period.end + domain.FIR_WINDOW)

    async def departments(self, kpi: PeopleKpi, org: OrgInfo, period: Period) -> KpiDepartments:
        parts = await self._department_parts(kpi, org.path, period)
        codes = _dealer_codes(path for path, _department in parts)
        items = []
        for (path, department), agg in sorted(parts.items(), key=lambda item: (codes[item[0][0]], item[0][1])):
            low, high = domain.interval(kpi, agg)
            items.append(DepartmentFigure(dealer_code=codes[path], department=department, value=shown(agg.value),
                                          n=agg.n, ci_low=shown(low), ci_high=shown(high)))
        return KpiDepartments(kpi=kpi, period=period.label, org_code=org.code, items=items)

    async def _department_parts(self, kpi: PeopleKpi, org_path: str,
                                period: Period) -> dict[tuple[str, Department], Agg]:
        repo, start, end = self.repo, period.start, period.end
        if kpi in SURVEY_DEPARTMENTS:
            departments = SURVEY_DEPARTMENTS[kpi]
            reads = [repo.staffed_scores(kpi, DEPARTMENT_SURVEYS[d][0], DEPARTMENT_SURVEYS[d][1], org_path, start, end)
                     for d in departments]
            results = await repo.read_all(*reads) if len(reads) > 1 else [await reads[0]]
            return {(path, department): agg for department, by_dealer in zip(departments, results, strict=True)
                    for path, agg in by_dealer.items() if agg.n}
        if kpi == "fir":
            fixes = [visit for visit, _a, _t in await repo.staffed_visits_closed(org_path, start, end)]
            later = await self._repeats(fixes, period)
            return {(path, "service"): agg for path, agg in fir_formula(later)(fixes, lambda path: path).items()}
        tasks = [task for task, _assignee in await repo.assigned_followups_due(org_path, start, end)]
        return {(path, "cr"): agg for path, agg in desk.followups(tasks, utcnow(), lambda path: path)[kpi].items()
                if agg.n}
