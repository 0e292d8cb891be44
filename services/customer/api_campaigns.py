"""HTTP endpoints of care campaigns: create (with the audience's size), list, read, launch, results."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from services.customer import campaigns
from services.customer.deps import DirectoryDep
from services.customer.repository_campaigns import CampaignRepository
from services.customer.schemas import CampaignCreate, CampaignRead, CampaignResults
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses
from shared.service_app import repository_for

router = APIRouter(tags=["campaigns"])

ReadCampaigns = Annotated[CampaignRepository, repository_for(CampaignRepository, "customers:read")]
WriteCampaigns = Annotated[CampaignRepository, repository_for(CampaignRepository, "customers:write")]


@router.post("/v1/campaigns", status_code=201, responses=problem_responses(401, 403, 422))
async def create_campaign(data: CampaignCreate, repo: WriteCampaigns, directory: DirectoryDep,
                          response: Response) -> CampaignRead:
    """Create a draft campaign for your org or one below it; the answer's `audience_size` is how
    many customers its audience matches now. A distributor's or the manufacturer's audience holds
    only customers who share with the manufacturer; nobody is contacted before the launch."""
    campaign = await campaigns.create(repo, directory, data)
    response.headers["Location"] = f"/v1/campaigns/{campaign.id}"
    return await campaigns.shown(repo, campaign)


@router.get("/v1/campaigns", responses=problem_responses(400, 401, 403, 404, 422))
async def list_campaigns(
    repo: ReadCampaigns, directory: DirectoryDep, page: Annotated[PageParams, Depends(page_params)],
    updated_since: UpdatedSince,
    org_code: Annotated[str | None, Query(max_length=40, description="Only this org's own campaigns "
                                                                     "(one outside your subtree: 404)")] = None,
    status: Literal["draft", "launched"] | None = None,
) -> Page[CampaignRead]:
    """The campaigns of your subtree, in the order created; with `updated_since`, the delta feed."""
    if org_code is not None:
        org_code = (await directory.org_in_subtree(repo.principal, org_code)).code
    rows, next_cursor = await repo.campaigns(page, updated_since, org_code=org_code, status=status)
    return Page(items=[await campaigns.shown(repo, row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/campaigns/{campaign_id}", responses=problem_responses(401, 403, 404))
async def get_campaign(campaign_id: uuid.UUID, repo: ReadCampaigns) -> CampaignRead:
    """Read one campaign (a draft's `audience_size` counted now, a launched one's at launch)."""
    return await campaigns.shown(repo, await repo.campaign(campaign_id))


@router.post("/v1/campaigns/{campaign_id}/launch", responses=problem_responses(401, 403, 404))
async def launch_campaign(campaign_id: uuid.UUID, repo: WriteCampaigns) -> CampaignRead:
    """Launch: customers without marketing consent are left out (`excluded_no_consent`), a holdout
    of `holdout_pct` is kept back (drawn per customer, the same on any re-run), and every other
    customer gets one `campaign.message` event, for the campaign owner's DMS or SMS gateway
    (webhooks). Launching a launched campaign changes nothing and publishes nothing (200)."""
    return await campaigns.shown(repo, await campaigns.launch(repo, campaign_id))


@router.get("/v1/campaigns/{campaign_id}/results", responses=problem_responses(401, 403, 404, 409))
async def campaign_results(campaign_id: uuid.UUID, repo: ReadCampaigns) -> CampaignResults:
    """Customers with a service visit within 60 days of the launch, in the sent group and in the
    holdout, and the uplift in points (KPI.md, Campaign uplift). Before the launch: 409."""
    return await campaigns.results(repo, campaign_id)
