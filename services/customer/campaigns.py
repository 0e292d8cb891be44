"""Care campaigns (issue 16, DOMAIN.md "Care campaigns"): an audience drawn from where customers
stand, a holdout kept back at launch, one campaign.message per sent customer, and the uplift in
visits the campaign made (KPI.md, Campaign uplift).

Launching is once per campaign: the audience is drawn then, customers without marketing consent
are left out (and counted), the rest split into sent and holdout by a hash of (campaign,
customer), so a re-run of the draw puts every customer where it put them before."""

import hashlib
import uuid
from datetime import datetime, timedelta

from services.customer import events
from services.customer.models import Campaign
from services.customer.repository_campaigns import Audience, CampaignRepository, CohortOutcome
from services.customer.schemas import CampaignAudience, CampaignCreate, CampaignRead, CampaignResults, CampaignVisited
from shared.db import utcnow
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Conflict, UnprocessableContent

DRAFT, LAUNCHED = "draft", "launched"
SENT, HOLDOUT = "sent", "holdout"
# KPI.md: a visit counts for the campaign within 60 days of its launch.
WINDOW = timedelta(days=60)


def in_holdout(campaign_id: uuid.UUID, customer_id: uuid.UUID, holdout_pct: int) -> bool:
    """Whether the customer is kept back: the first 8 bytes of SHA-256(campaign id, customer id) as
    a number, modulo 100, below the percentage. The same answer on every run and every machine,
    and independent between campaigns (a customer held back once is not held back every time)."""
    digest = hashlib.sha256(campaign_id.bytes + customer_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") % 100 < holdout_pct


def uplift_pts(sent: int, visited_sent: int, holdout: int, visited_holdout: int) -> float | None:
    """100 * (visited_sent / sent - visited_holdout / holdout), None when a group is empty (KPI.md)."""
    if sent == 0 or holdout == 0:
        return None
    return 100 * (visited_sent / sent - visited_holdout / holdout)


async def _owner(repo: CampaignRepository, directory: OrgDirectory, org_code: str | None) -> OrgInfo:
    """The org a campaign is for: the caller's own, or one in its subtree; any other is unknown
    (out of reach and non-existent are one answer, API.md)."""
    principal = repo.principal
    org = await directory.get(org_code or principal.org_code)
    if org is None or not principal.sees(org.path):
        raise UnprocessableContent("No such organisation in yours",
                                   errors=[{"field": "org_code", "message": "unknown organisation"}])
    return org


def _audience(campaign: Campaign) -> Audience:
    filters = CampaignAudience.model_validate(campaign.audience)
    return Audience(lifecycle=filters.lifecycle, segment=filters.segment, model=filters.model,
                    last_visit_before=filters.last_visit_before, birthday_month=filters.birthday_month)


async def create(repo: CampaignRepository, directory: OrgDirectory, data: CampaignCreate) -> Campaign:
    owner = await _owner(repo, directory, data.org_code)
    now = utcnow()
    campaign = Campaign(
        org_code=owner.code, org_path=owner.path, name=data.name, kind=data.kind,
        audience=data.audience.model_dump(mode="json", exclude_none=True), channel=data.channel,
        message=dict(data.message), holdout_pct=data.holdout_pct, status=DRAFT, created_by=repo.principal.subject,
        created_at=now, updated_at=now)
    await repo.add(campaign)
    return campaign


async def shown(repo: CampaignRepository, campaign: Campaign) -> CampaignRead:
    """A launched campaign's audience is the one it was launched to; a draft's is counted now."""
    if campaign.targeted is not None:
        size = campaign.targeted
    else:
        size = await repo.audience_size(campaign.org_path, _audience(campaign))
    return CampaignRead(
        id=campaign.id, org_code=campaign.org_code, name=campaign.name, kind=campaign.kind,  # type: ignore[arg-type]
        audience=CampaignAudience.model_validate(campaign.audience), channel=campaign.channel,  # type: ignore[arg-type]
        message=campaign.message, holdout_pct=campaign.holdout_pct, status=campaign.status,  # type: ignore[arg-type]
        audience_size=size, excluded_no_consent=campaign.excluded_no_consent, launched_at=campaign.launched_at,
        created_at=campaign.created_at, updated_at=campaign.updated_at)


async def launch(repo: CampaignRepository, campaign_id: uuid.UUID, *, at: datetime | None = None) -> Campaign:
    """Draw the audience and publish the sent group's messages, in one transaction.

    A launched campaign is answered as it is and publishes nothing: a retried launch never
    messages anyone twice. The members' key (campaign, customer) holds that too, should two
    launches ever race past the row lock. `at` is the launch time, now unless given: only the
    demo seed gives one (cli/demo_campaigns.py), for a campaign whose 60 days are over."""
    campaign = await repo.campaign_for_update(campaign_id)
    if campaign.status == LAUNCHED:
        return campaign
    now = at or utcnow()
    audience = await repo.audience(campaign.org_path, _audience(campaign))
    reachable = [member for member in audience if member.marketing]
    messages, rows = {}, []
    for member in reachable:
        held = in_holdout(campaign.id, member.customer_id, campaign.holdout_pct)
        row = {"campaign_id": campaign.id, "customer_id": member.customer_id, "dealer_code": member.dealer_code,
               "org_path": member.org_path, "cohort": HOLDOUT if held else SENT, "message_event_id": None,
               "sent_at": None}
        if not held:
            message = events.campaign_message(campaign, member.customer_id, member.dealer_code, member.org_path, now)
            messages[member.customer_id] = message
            row |= {"message_event_id": message.id, "sent_at": now}
        rows.append(row)
    inserted = await repo.add_members(rows)
    await repo.publish_all([message for customer_id, message in messages.items() if customer_id in inserted])
    campaign.status, campaign.launched_at, campaign.updated_at = LAUNCHED, now, now
    campaign.targeted, campaign.excluded_no_consent = len(audience), len(audience) - len(reachable)
    await repo.flush()
    return campaign


async def results(repo: CampaignRepository, campaign_id: uuid.UUID) -> CampaignResults:
    campaign = await repo.campaign(campaign_id)
    if campaign.launched_at is None:
        raise Conflict(f"Campaign {campaign_id} has not been launched: it has no results yet")
    end = campaign.launched_at + WINDOW
    outcome = await repo.outcome(campaign.id, campaign.launched_at, end)
    sent, held = outcome.get(SENT, CohortOutcome(0, 0)), outcome.get(HOLDOUT, CohortOutcome(0, 0))
    return CampaignResults(
        campaign_id=campaign.id, launched_at=campaign.launched_at, window_days=WINDOW.days,
        window_closed=utcnow() >= end, targeted=campaign.targeted or 0, sent=sent.members,
        excluded_no_consent=campaign.excluded_no_consent or 0, holdout=held.members,
        visited=CampaignVisited(sent=sent.visited, holdout=held.visited),
        uplift_pts=uplift_pts(sent.members, sent.visited, held.members, held.visited))
