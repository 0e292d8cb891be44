"""The retention figures of an org (issue 16 item 6, the dashboard's lifecycle funnel and value
segments): its customers counted per lifecycle state and per value segment."""

from services.customer.lifecycle import LIFECYCLES, SEGMENTS
from services.customer.repository_retention import RetentionRepository
from services.customer.schemas import LifecycleCounts, RetentionRead, SegmentCounts
from shared.db import utcnow
from shared.orgs import OrgInfo


async def retention_of(repo: RetentionRepository, org: OrgInfo) -> RetentionRead:
    as_of = utcnow()
    lifecycle = dict.fromkeys(LIFECYCLES, 0)
    segments = dict.fromkeys(SEGMENTS, 0)
    unscored = 0
    for row in await repo.standing_counts(org.path):
        lifecycle[row.lifecycle] += row.customers
        if row.segment is None:
            unscored += row.customers
        else:
            segments[row.segment] += row.customers
    return RetentionRead(org_code=org.code, as_of=as_of, customers=sum(lifecycle.values()),
                         lifecycle=LifecycleCounts(**lifecycle), segments=SegmentCounts(**segments), unscored=unscored)
