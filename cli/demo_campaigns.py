"""The demo network's finished care campaign (issue 16), so the campaign results show an uplift.

The manufacturer's spring service campaign to its dealers' customers (those who share with the
manufacturer and accept marketing), 30% held back, launched in late April: its 60-day window is
long over. The whole network, so that the holdout is a group (a few dozen members, about ten
held back), and a window months back, clear of the recent visits and appointments the demo's
history crowds into the last weeks. After the launch, more of the sent customers came in for a service than of those held
back, as a campaign that works would make them.

The launch draws its holdout at random, and the demo's history already puts some customers of
either group in the window; with a few dozen members, drawing the sent group's visits by chance
could leave it below its holdout. So the holdout keeps what its history gives it, and the sent
group is brought to a share of returns the campaign is credited with (SENT_CAME_BACK, at least
MIN_UPLIFT_PTS above the holdout's) by visits to members who had none in the window.

A launch happens when it is called, so this one is launched by the customer service's own use
case on its database with a launch time in the past (as the bootstrap writes the first key to
the gateway's database). The campaign, the customers and the visits go through the public API.
"""

import asyncio
import math
import random
import uuid
from datetime import datetime, timedelta

from csloop_sdk import CSLoop
from csloop_sdk.models import Customer

LAUNCHED_DAYS_AGO = 220
HOLDOUT_PCT = 30
WINDOW = timedelta(days=60)  # KPI.md, Campaign uplift
# The sent group's share with a service visit in the window, and its least lead on the holdout's.
SENT_CAME_BACK = 0.65
MIN_UPLIFT_PTS = 35


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


def seed_campaign(api: CSLoop, manufacturer: str, dealers: list[str], customer_database_url: str, *, now: datetime,
                  seed_value: int = 16) -> dict[str, int]:
    """`dealers`: the network's. Returns how many customers were messaged and held back."""
    rng = random.Random(seed_value)
    campaign = api.campaigns.create(
        org_code=manufacturer, name="春季保养关怀 Spring service care", kind="service", channel="sms",
        message={"zh-CN": "春季保养季：本月到店保养，工时费八折。", "en": "Spring service: 20% off labour this month."},
        holdout_pct=HOLDOUT_PCT)
    launched_at = now - timedelta(days=LAUNCHED_DAYS_AGO)
    cohorts = asyncio.run(launch_in_the_past(customer_database_url, uuid.UUID(campaign.id), launched_at))
    members: dict[str, list[tuple[str, Customer]]] = {"sent": [], "holdout": []}
    for dealer in dealers:
        for customer in api.customers.list(dealer_code=dealer):
            cohort = cohorts.get(uuid.UUID(customer.id))
            if cohort is not None:  # else not in the audience the launch drew
                members[cohort].append((dealer, customer))
    window = (launched_at, launched_at + WINDOW)
    held_back = [_came_back(api, customer, window) for _, customer in members["holdout"]]
    sent_back = [_came_back(api, customer, window) for _, customer in members["sent"]]
    held_share = sum(held_back) / len(held_back) if held_back else 0.0
    wanted = math.ceil(len(sent_back) * min(1.0, max(SENT_CAME_BACK, held_share + MIN_UPLIFT_PTS / 100)))
    not_yet = [member for member, back in zip(members["sent"], sent_back) if not back]
    rng.shuffle(not_yet)
    for dealer, customer in not_yet[:max(0, wanted - sum(sent_back))]:
        car = next(iter(api.vehicles.list(owner_customer_id=customer.id)), None)
        if car is None:
            continue
        opened = launched_at + timedelta(days=rng.uniform(3, 55))
        api.service_visits.create(
            ro_number=f"RO-CARE-{customer.id[:8]}", vin=car.vin, customer_id=customer.id, dealer_code=dealer,
            visit_type="maintenance", opened_at=opened.isoformat(), closed_at=(opened + timedelta(hours=3)).isoformat(),
            op_codes=["OP-100"], mileage_km=rng.randint(5000, 60000), amount_minor=rng.randint(30_000, 120_000),
            advisor="SA01", technician="TE01")
    return {"campaign_sent": len(members["sent"]), "campaign_holdout": len(members["holdout"])}


def _came_back(api: CSLoop, customer: Customer, window: tuple[datetime, datetime]) -> bool:
    """Whether the customer has a service visit in the window, as the results count one (from when it opened)."""
    return any(window[0] <= (visit.opened_at or visit.closed_at or visit.created_at) < window[1]
               for visit in api.service_visits.list(customer_id=customer.id))
