"""Dealer evaluation use cases: schemes (a new version per PUT), evaluations computed from the
current figures or read from a published (frozen) one, and publishing.

An evaluation is computed over the scheme owner's whole network (ranks are network-wide), then
cut to the asked org's subtree within the caller's. A published evaluation answers from its
frozen rows only: later facts, and `csloop kpi rebuild`, never move it. Arithmetic in
services/kpi/evaluation.py, unrounded; figures are rounded only here, as they leave.
"""

from sqlalchemy.exc import IntegrityError

from services.kpi import evaluation
from services.kpi.domain import Agg
from services.kpi.evaluation import Element, KpiRule, Scored, Tier
from services.kpi.figures import Buckets, Figures
from services.kpi.models import EvaluationItem, EvaluationScheme, PublishedEvaluation
from services.kpi.orgs import CallerSubtrees
from services.kpi.reports import LEVEL_DEPTH, shown
from services.kpi.repository_evaluations import EvaluationRepository
from services.kpi.schemas import (DealerEvaluation, EvaluatedElement, EvaluatedKpi, EvaluatedOrg, EvaluationSchemePut,
                                  EvaluationSchemeRead, Level)
from shared.auth import Principal
from shared.contracts import kpi as contract
from shared.db import utcnow
from shared.etag import check_version
from shared.events import new_event
from shared.org_path import OrgPath
from shared.orgs import OrgInfo
from shared.problems import Conflict, Forbidden, NotFound, UnprocessableContent
from shared.types import Period

LEVELS: tuple[Level, ...] = ("dealer", "distributor")


def check_manufacturer(principal: Principal) -> None:
    """Schemes decide rebates: only the manufacturer defines them and publishes what they give."""
    if principal.org_kind != "manufacturer":
        raise Forbidden("Evaluation schemes are defined and published by the manufacturer")


def scheme_read(row: EvaluationScheme) -> EvaluationSchemeRead:
    return EvaluationSchemeRead(code=row.code, version=row.version, owner_code=OrgPath(row.org_path).code or "",
                                title=row.title, elements=row.elements, tiers=row.tiers, created_at=row.created_at)


async def scheme_of(repo: EvaluationRepository, code: str) -> EvaluationScheme:
    row = await repo.scheme(code)
    if row is None:
        raise NotFound(f"No evaluation scheme {code}")
    return row


async def put_scheme(repo: EvaluationRepository, code: str, body: EvaluationSchemePut,
                     if_match: str | None) -> EvaluationScheme:
    """The scheme's next version (the first for a new code); with If-Match, only over the version read."""
    principal = repo.principal
    check_manufacturer(principal)
    current = await repo.scheme(code)
    if current is not None and current.org_path != principal.org_path:
        raise Forbidden("This scheme belongs to another manufacturer")
    version = current.version if current is not None else 0
    if if_match:  # optional: an empty header is no precondition, as none at all
        check_version(if_match, version)
    row = EvaluationScheme(org_path=principal.org_path, code=code, version=version + 1, title=body.title,
                           elements=[element.model_dump() for element in body.elements],
                           tiers=[tier.model_dump() for tier in body.tiers], created_by=principal.subject,
                           created_at=utcnow())
    try:
        await repo.add(row)
    except IntegrityError as exc:  # a concurrent PUT took this version after our read
        raise Conflict("The scheme changed meanwhile; read it again") from exc
    return row


def rules(row: EvaluationScheme) -> tuple[tuple[Element, ...], tuple[Tier, ...]]:
    elements = tuple(Element(e["code"], e["weight"], tuple(KpiRule(k["kpi"], k["weight"], k["floor"], k["ceiling"])
                                                          for k in e["kpis"])) for e in row.elements)
    return elements, tuple(Tier(t["name"], t["min_score"], t["rebate_pct"]) for t in row.tiers)


async def _network_evaluation(repo: EvaluationRepository, subtrees: CallerSubtrees, row: EvaluationScheme,
                              period: Period, level: Level, *, fresh_orgs: bool = False) -> list[Scored]:
    """Every org of the level in the scheme owner's network, scored and ranked (best first).
    `fresh_orgs`: the network's orgs asked of the directory, not cached (a publish freezes them)."""
    elements, tiers = rules(row)
    depth = LEVEL_DEPTH[level]
    buckets = Buckets(row.org_path, depth)
    async with repo.network(row.org_path) as network:
        figures = Figures(network)
        kpis = dict.fromkeys(rule.kpi for element in elements for rule in element.kpis)
        parts = {kpi: await figures.parts(kpi, period, buckets) for kpi in kpis}
    with_figures = {path for kpi_parts in parts.values() for path in kpi_parts}
    orgs = [org for org in await subtrees.orgs(row.org_path, knowing=with_figures, fresh=fresh_orgs)
            if OrgPath(org.path).depth == depth]
    scored = (evaluation.score(org.code, org.path, elements, {kpi: parts[kpi].get(org.path, Agg()) for kpi in kpis})
              for org in orgs)
    return evaluation.ranked(scored, tiers)


def _item(s: Scored) -> EvaluatedOrg:
    elements = {code: EvaluatedElement(score=shown(element["score"]),
                                       kpis={kpi: EvaluatedKpi(value=shown(k["value"]), n=k["n"], points=shown(k["points"]))
                                             for kpi, k in element["kpis"].items()})
                for code, element in s.elements.items()}
    return EvaluatedOrg(org_code=s.org_code, score=shown(s.score), rank=s.rank, tier=s.tier, rebate_pct=s.rebate_pct,
                        elements=elements)


def _thawed(item: EvaluationItem) -> Scored:
    return Scored(item.org_code, item.org_path, item.score, item.elements, item.rank, item.tier, item.rebate_pct)


def _check_level(org: OrgInfo, level: Level) -> None:
    if OrgPath(org.path).depth > LEVEL_DEPTH[level]:
        raise UnprocessableContent(f"A {org.kind} has no {level}s under it", errors=[{"field": "level", "message": "below the org"}])


async def evaluate(repo: EvaluationRepository, subtrees: CallerSubtrees, code: str, period: Period, level: Level,
                   org: OrgInfo) -> DealerEvaluation:
    """The scheme's evaluation of the period for the orgs of `level` in `org`'s subtree: the frozen one
    once published, else computed now from the current figures."""
    _check_level(org, level)
    row = await scheme_of(repo, code)
    published = await repo.published(row.org_path, row.code, period.label)
    if published is not None:
        frozen = sorted((_thawed(item) for item in await repo.frozen_items(published, level, org.path)),
                        key=lambda s: (s.rank is None, s.rank or 0, s.org_code))
        return DealerEvaluation(scheme=row.code, scheme_version=published.scheme_version, period=period.label,
                                level=level, org_code=org.code, items=[_item(s) for s in frozen],
                                published_at=published.published_at, published_by=published.published_by)
    asked = OrgPath(org.path)
    scored = await _network_evaluation(repo, subtrees, row, period, level)
    shown_items = [_item(s) for s in scored if asked.contains(s.org_path) and repo.principal.sees(s.org_path)]
    return DealerEvaluation(scheme=row.code, scheme_version=row.version, period=period.label, level=level,
                            org_code=org.code, items=shown_items, published_at=None, published_by=None)


async def publish(repo: EvaluationRepository, subtrees: CallerSubtrees, code: str, period: Period, level: Level,
                  org: OrgInfo) -> DealerEvaluation:
    """Freeze the scheme's evaluation of the period, both levels, every input figure kept; a second
    publish of the same scheme and period is a 409. Answers the frozen evaluation at `level`."""
    principal = repo.principal
    check_manufacturer(principal)
    _check_level(org, level)
    row = await scheme_of(repo, code)
    if row.org_path != principal.org_path:
        raise Forbidden("This scheme belongs to another manufacturer")
    if await repo.published(row.org_path, row.code, period.label) is not None:
        raise Conflict(f"Scheme {row.code} is already published for {period.label}")
    now = utcnow()
    items = [EvaluationItem(org_path=s.org_path, scheme=row.code, period=period.label, network_path=row.org_path,
                            level=each, org_code=s.org_code, score=s.score, rank=s.rank, tier=s.tier,
                            rebate_pct=s.rebate_pct, elements=s.elements)
             for each in LEVELS for s in await _network_evaluation(repo, subtrees, row, period, each, fresh_orgs=True)]
    frozen = PublishedEvaluation(org_path=row.org_path, scheme=row.code, period=period.label,
                                 scheme_version=row.version, published_at=now, published_by=principal.subject)
    try:
        await repo.add(frozen, *items)
    except IntegrityError as exc:  # a concurrent publish won after our check
        raise Conflict(f"Scheme {row.code} is already published for {period.label}") from exc
    payload = contract.EvaluationPublished(org_code=principal.org_code, org_path=row.org_path, scheme=row.code,
                                           scheme_version=row.version, period=period.label, published_at=now,
                                           items=len(items))
    await repo.publish(new_event(contract.SOURCE, contract.EVALUATION_PUBLISHED, f"{row.code}/{period.label}",
                                 payload.model_dump(mode="json")))
    return await evaluate(repo, subtrees, code, period, level, org)
