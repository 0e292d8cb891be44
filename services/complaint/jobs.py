"""The SLA job: report each missed target once and escalate the case one level; the same for
technical requests whose answer due time passed (one breach per escalation level).

It runs in every replica. The breach record's unique (case, kind), or (request, level), makes a
breach reported once however many passes or replicas see it; each case or request is handled in
its own transaction, so one that fails (or that a user changed meanwhile) does not hold up the others.
"""

import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.complaint import domain, events, tech_requests
from services.complaint.cases import entry, escalate_one_level
from services.complaint.repository import ComplaintRepository
from shared.auth import system_principal
from shared.db import utcnow
from shared.orgs import OrgDirectory

logger = logging.getLogger("csloop.complaint.jobs")

BATCH = 200


async def run_once(sessions: async_sessionmaker[AsyncSession], directory: OrgDirectory,
                   now: datetime | None = None) -> int:
    """One pass over cases, then technical requests; returns how many breaches it reported."""
    moment = now or utcnow()
    async with sessions() as session:
        candidates = [case.id for case in await ComplaintRepository(session, system_principal())
                      .breach_candidates(moment, BATCH)]
    reported = 0
    for complaint_id in candidates:
        try:
            async with sessions() as session, session.begin():
                reported += await _report(ComplaintRepository(session, system_principal()), directory,
                                          complaint_id, moment)
        except _Changed:
            logger.info("complaint %s changed during the SLA pass; the next pass sees it", complaint_id)
    return reported + await _tech_requests_once(sessions, directory, moment)


async def _tech_requests_once(sessions: async_sessionmaker[AsyncSession], directory: OrgDirectory,
                              now: datetime) -> int:
    async with sessions() as session:
        candidates = [request.id for request in await ComplaintRepository(session, system_principal())
                      .tech_request_breach_candidates(now, BATCH)]
    reported = 0
    for request_id in candidates:
        try:
            async with sessions() as session, session.begin():
                reported += await tech_requests.report_breach(ComplaintRepository(session, system_principal()),
                                                              directory, request_id, now)
        except tech_requests.StaleRequest:
            logger.info("technical request %s changed during the SLA pass; the next pass sees it", request_id)
    return reported


class _Changed(Exception):
    """A user changed the case after the job read it; leaving the block rolls the breach back."""


async def _report(repo: ComplaintRepository, directory: OrgDirectory, complaint_id: uuid.UUID, now: datetime) -> int:
    case = await repo.complaint(complaint_id)
    if case is None:
        return 0
    missed = domain.breaches(status=case.status, stopped=case.clock_stopped_at is not None, now=now,
                             first_response_due=case.first_response_due, first_responded_at=case.first_responded_at,
                             resolution_due=case.resolution_due, resolved_at=case.resolved_at)
    reported = 0
    for kind in missed:
        due = case.first_response_due if kind == "first_response" else case.resolution_due
        if not await repo.record_breach(case, kind, due, now):
            continue
        if not reported and not await repo.claim_version(case, case.version):
            raise _Changed
        reported += 1
        case.breached = True
        await repo.add(entry(case, repo.principal, "sla_breached", now, data={"kind": kind, "due_at": due.isoformat()}))
        await repo.publish(events.sla_breached(case, kind, due, now))
        if case.status in domain.OPEN_STATES:
            await escalate_one_level(repo, directory, case, f"SLA breached: {kind.replace('_', ' ')} was due "
                                     f"{due.isoformat()}", "sla_breach", now)
    return reported
