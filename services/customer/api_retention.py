"""HTTP endpoint of the retention figures: an org's lifecycle funnel and value segments."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.customer import retention
from services.customer.deps import DirectoryDep
from services.customer.repository_retention import RetentionRepository
from services.customer.schemas import RetentionRead
from shared.problems import problem_responses
from shared.service_app import repository_for

router = APIRouter(tags=["retention"])

ReadRetention = Annotated[RetentionRepository, repository_for(RetentionRepository, "customers:read")]


@router.get("/v1/retention", responses=problem_responses(400, 401, 403, 404, 422))
async def get_retention(
    repo: ReadRetention, directory: DirectoryDep,
    org_code: Annotated[str | None, Query(max_length=40, description="The org whose subtree is counted (default: "
                                                                     "yours; one outside your subtree: 404)")] = None,
) -> RetentionRead:
    """How many customers of the org and below stand in each lifecycle state and each value
    segment (DOMAIN.md, Retention and value). Above the dealer only customers who share with the
    manufacturer are counted, as `GET /v1/customers?lifecycle=` finds only them."""
    org = await directory.org_in_subtree(repo.principal, org_code or repo.principal.org_code)
    return await retention.retention_of(repo, org)
