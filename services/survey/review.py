"""Survey integrity's use cases beyond the submission: flags raised later on the earlier members of
a group, the review by the manufacturer or a distributor, the organisations' rules and the
per-dealer record."""

import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from services.survey import events, integrity
from services.survey.models import IntegrityRules, SurveyResponse
from services.survey.repository import SurveyRepository
from services.survey.schemas import (DealerIntegrity, IntegrityReport, IntegrityRulesIn, IntegrityRulesRead,
                                     ResponseReview)
from services.survey.settings import SurveySettings
from shared.auth import Principal
from shared.contracts.survey import IntegrityFlag
from shared.db import utcnow
from shared.orgs import OrgInfo
from shared.problems import Forbidden, UnprocessableContent

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def above(principal: Principal, org_path: str) -> bool:
    """Strictly above `org_path` in the tree: a manufacturer or distributor over the dealer, never the dealer."""
    return principal.org_path != org_path and principal.sees(org_path)


async def flag_group(repo: SurveyRepository, response: Any, flags: list[IntegrityFlag], settings: SurveySettings) -> int:
    """A new response completed a group for `flags` (a third customer on one device, a third copy of
    one text): the group's earlier members of the same dealer that the flag has not reached get it,
    each with one survey.response.flagged naming every flag it gained. Once: a member that joins
    the group later has the flag from its own submission, and a concurrent pass for the same group
    waits for this one's locks and then finds nothing left (repo.awaiting_members). Returns how many
    changed. `response` is read by attribute (the submission's view of its row)."""
    rules = await rules_in_force(repo, response.org_path, settings)
    members = await repo.awaiting_members(response, flags, response.created_at - timedelta(days=rules.shared_device.days))
    codes = await repo.survey_codes({member.survey_id for member in members})
    changed = 0
    for member in members:
        shared = [flag for flag in flags if (member.device_hash == response.device_hash if flag == "shared_device"
                                             else member.text_hash == response.text_hash)]
        now = integrity.with_flags(member.integrity_status, member.integrity_flags, shared)
        if now is not None:
            member.integrity_status, member.integrity_flags = now.status, list(now.flags)
            await repo.publish(events.integrity_changed(member, codes[member.survey_id], reviewed=False))
            changed += 1
    return changed


async def flag_spikes(repo: SurveyRepository, settings: SurveySettings, now: datetime) -> int:
    """The daily dealer_spike pass: each dealer's last complete week against its previous weeks (the
    rules in force at the dealer); a spiking week's responses get the flag, each with
    survey.response.flagged. Once: a response flagged before is left as it is, and while one
    replica's pass runs another's does nothing (repo.claim_spike_pass). Returns how many changed."""
    if not await repo.claim_spike_pass():
        return 0
    judged = integrity.week_start(now) - timedelta(weeks=1)
    longest = max(settings.integrity_spike_weeks, 52)  # any organisation's rules may look back up to 52 weeks
    by_dealer: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for dealer_code, org_path, created_at, index in await repo.csi_scores(judged - timedelta(weeks=longest),
                                                                          judged + timedelta(weeks=1)):
        by_dealer[(dealer_code, org_path)].append((created_at, index))
    changed = 0
    for (dealer_code, org_path), scores in sorted(by_dealer.items()):
        rule = (await rules_in_force(repo, org_path, settings)).dealer_spike
        week, n, previous = integrity.weekly_csi(scores, judged, rule.weeks)
        if week is None or not integrity.dealer_spike(week, previous, n, settings.integrity_spike_min_n, rule):
            continue
        members = await repo.spike_members(dealer_code, judged, judged + timedelta(weeks=1))
        codes = await repo.survey_codes({member.survey_id for member in members})
        for member in members:
            now_integrity = integrity.with_flags(member.integrity_status, member.integrity_flags, ["dealer_spike"])
            if now_integrity is not None:
                member.integrity_status, member.integrity_flags = now_integrity.status, list(now_integrity.flags)
                await repo.publish(events.integrity_changed(member, codes[member.survey_id], reviewed=False))
                changed += 1
    return changed


async def review(repo: SurveyRepository, response_id: uuid.UUID, data: ResponseReview) -> SurveyResponse:
    """Decide a response valid (into the KPIs) or invalid (out): only from above its dealer."""
    response = await repo.get_visible(SurveyResponse, response_id)
    if not above(repo.principal, response.org_path):
        raise Forbidden("A response is reviewed by the manufacturer or a distributor above its dealer")
    response.integrity_status = data.decision
    response.reviewed_at = utcnow()
    response.reviewed_by = repo.principal.subject
    response.review_note = data.note
    await repo.add(response)
    codes = await repo.survey_codes({response.survey_id})
    await repo.publish(events.integrity_changed(response, codes[response.survey_id], reviewed=True))
    return response


def check_sets_rules(principal: Principal) -> None:
    if principal.org_kind == "dealer":
        raise Forbidden("Integrity rules are set by the manufacturer and the distributors")


async def rules_in_force(repo: SurveyRepository, org_path: str, settings: SurveySettings) -> integrity.IntegrityFlags:
    found = await repo.nearest_rules(org_path)
    return integrity.IntegrityFlags.model_validate(found.flags) if found else integrity.default_flags(settings)


async def rules_read(repo: SurveyRepository, org: OrgInfo, settings: SurveySettings) -> IntegrityRulesRead:
    found = await repo.nearest_rules(org.path)
    flags = integrity.IntegrityFlags.model_validate(found.flags) if found else integrity.default_flags(settings)
    return IntegrityRulesRead(org_code=org.code, set_by=found.org_code if found else None, flags=flags)


async def set_rules(repo: SurveyRepository, org: OrgInfo, data: IntegrityRulesIn) -> None:
    found = await repo.rules_of(org.path)
    flags = data.flags.model_dump(mode="json")
    if found is None:
        await repo.add(IntegrityRules(org_path=org.path, org_code=org.code, flags=flags))
    else:
        found.flags = flags
        await repo.add(found)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """A month `YYYY-MM` as [first instant, first instant of the next month) in UTC."""
    match = PERIOD.match(period)
    if match is None:
        raise UnprocessableContent("period is a month, YYYY-MM", errors=[{"field": "period", "message": "expected YYYY-MM"}])
    year, month = int(match[1]), int(match[2])
    start = datetime(year, month, 1, tzinfo=utcnow().tzinfo)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=start.tzinfo)
    return start, end


async def report(repo: SurveyRepository, org: OrgInfo, period: str) -> IntegrityReport:
    start, end = period_bounds(period)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    flags: dict[str, Counter[str]] = defaultdict(Counter)
    for dealer_code, status, raised in await repo.integrity_rows(org.path, start, end):
        counts[dealer_code]["responses"] += 1
        counts[dealer_code][status] += 1
        flags[dealer_code].update(raised or [])
    dealers = [DealerIntegrity(dealer_code=code, responses=count["responses"], flagged=count["flagged"],
                               invalid=count["invalid"], valid=count["valid"],
                               by_flag={flag: flags[code][flag] for flag in integrity.FLAGS if flags[code][flag]})
               for code, count in sorted(counts.items())]
    return IntegrityReport(org_code=org.code, period=period, dealers=dealers)
