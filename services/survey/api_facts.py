"""`GET /internal/facts/{responses|invitations|alerts}`: the records a KPI rebuild replays, in event payload shape."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.survey import alerts as alert_rules
from services.survey import staff
from services.survey.repository import SurveyRepository
from shared.auth import scoped, system_principal
from shared.pagination import PageParams, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]


def _common(row: Any) -> dict[str, Any]:
    # survey_code is not kept on responses and no KPI reads it: left empty rather than joined in.
    return {"dealer_code": row.dealer_code, "org_path": row.org_path, "survey_id": row.survey_id, "survey_code": "",
            "survey_version": row.survey_version, "kind": row.kind, "customer_id": row.customer_id,
            "staff": staff.of(row)}


@router.get("/internal/facts/responses")
async def responses(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await SurveyRepository(session, system_principal()).responses_page(params)
    return {"items": [{**_common(r), "response_id": r.id, "invitation_id": r.invitation_id, "submitted_at": r.created_at,
                       "scores": r.scores, "integrity": {"status": r.integrity_status, "flags": r.integrity_flags}}
                      for r in rows], "next_cursor": cursor}


@router.get("/internal/facts/alerts")
async def alerts(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    # Empty JSON lists compare differently per backend: a page is filtered here and may come out short.
    rows, cursor = await SurveyRepository(session, system_principal()).responses_page(params)
    return {"items": [{**_common(r), "response_id": r.id, "submitted_at": r.created_at, "reasons": r.alerts,
                       "priority": alert_rules.priority(r.alerts) or "P4", "scores": r.scores} for r in rows if r.alerts],
            "next_cursor": cursor}


@router.get("/internal/facts/invitations")
async def invitations(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await SurveyRepository(session, system_principal()).sent_invitations_page(params)
    return {"items": [{**_common(i), "invitation_id": i.id, "channel": i.channel, "url": "", "sent_at": i.sent_at,
                       "expires_at": i.expires_at or i.sent_at} for i in rows], "next_cursor": cursor}
