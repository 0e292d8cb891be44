"""The demo network's finished care campaign (issue 16), so the campaign results show an uplift.

The North distributor's spring service campaign to its dealers' customers (those who share with
the manufacturer and accept marketing), 30% held back, launched 75 days ago: its 60-day window
is over. After the launch, more of the sent customers came in for a service than of those held
back, as a campaign that works would make them.

A launch happens when it is called, so this one is launched by the customer service's own use
case on its database with a launch time in the past (as the bootstrap writes the first key to
the gateway's database). The campaign, the customers and the visits go through the public API.
"""

import asyncio
import random
import uuid
from datetime import datetime, timedelta

from csloop_sdk import CSLoop

DISTRIBUTOR = "D-NORTH"
LAUNCHED_DAYS_AGO = 75
HOLDOUT_PCT = 30
# The share of each group with a service visit in the window, beyond the visits the demo's
# history already has there: the sent group's is the campaign's effect.
CAME_BACK = {"sent": 0.6, "holdout": 0.2}


async def launch_in_the_past(customer_database_url: str, campaign_id: uuid.UUID,
                             launched_at: datetime) -> dict[uuid.UUID, str]:
    """Launch as of `launched_at`; answers each member's cohort (the launch drew them)."""
    # Imported here: every `csloop` command imports the demo, and only `up` seeding it needs the service.
    from services.customer import campaigns
    from services.customer.repository_campaigns import CampaignRepository
    from shared.auth import system_principal
    from shared.db import create_engine, session_factory

    engine = create_engine(customer_database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            repo = CampaignRepository(session, system_principal())
            await campaigns.launch(repo, campaign_id, at=launched_at)
            return await repo.cohorts(campaign_id)
    finally:
        await engine.dispose()


def seed_campaign(api: CSLoop, dealers: list[str], customer_database_url: str, *, now: datetime,
                  seed_value: int = 16) -> dict[str, int]:
    """`dealers`: those below DISTRIBUTOR. Returns how many customers were messaged and held back."""
    rng = random.Random(seed_value)
    campaign = api.campaigns.create(
        org_code=DISTRIBUTOR, name="春季保养关怀 Spring service care", kind="service", channel="sms",
        message={"zh-CN": "春季保养季：本月到店保养，工时费八折。", "en": "Spring service: 20% off labour this month."},
        holdout_pct=HOLDOUT_PCT)
    launched_at = now - timedelta(days=LAUNCHED_DAYS_AGO)
    cohorts = asyncio.run(launch_in_the_past(customer_database_url, uuid.UUID(campaign.id), launched_at))
    counts = {"campaign_sent": 0, "campaign_holdout": 0}
    for dealer in dealers:
        for customer in api.customers.list(dealer_code=dealer):
            cohort = cohorts.get(uuid.UUID(customer.id))
            if cohort is None:  # not in the audience the launch drew
                continue
            counts[f"campaign_{cohort}"] += 1
            car = next(iter(api.vehicles.list(owner_customer_id=customer.id)), None)
            if car is None or rng.random() >= CAME_BACK[cohort]:
                continue
            opened = launched_at + timedelta(days=rng.uniform(3, 55))
            api.service_visits.create(
                ro_number=f"RO-CARE-{customer.id[:8]}", vin=car.vin, customer_id=customer.id, dealer_code=dealer,
                visit_type="maintenance", opened_at=opened.isoformat(), closed_at=(opened + timedelta(hours=3)).isoformat(),
                op_codes=["OP-100"], mileage_km=rng.randint(5000, 60000), amount_minor=rng.randint(30_000, 120_000),
                advisor="SA01", technician="TE01")
    return counts
