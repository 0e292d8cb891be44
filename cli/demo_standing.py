"""The demo's lifecycle and value segments (issue 16): the daily run over the seeded customers.

The customer service runs its daily job when it starts, before the demo has seeded anyone, so
the value segments (ranked by that run only) would stay empty until tomorrow. The seed ends by
running the job's pass once on the customer service's database, as tonight's run would: every
customer's lifecycle and RFM segment, and the win-back calls for those at risk. It runs as of
the moment it is called, not the seed's `now`: a stored standing newer than a run (the visits'
own updates during the seed) is never overwritten by it.
"""

import asyncio


async def _daily_run(customer_database_url: str) -> dict[str, int]:
    # Imported here: every `csloop` command imports the demo, and only `up` seeding it needs the service.
    from services.customer import standing
    from shared.db import create_engine, session_factory, utcnow

    engine = create_engine(customer_database_url)
    try:
        result = await standing.refresh_all(session_factory(engine), utcnow())
    finally:
        await engine.dispose()
    return {"standing_changes": result.changed, "win_backs": result.win_backs}


def rank_customers(customer_database_url: str) -> dict[str, int]:
    return asyncio.run(_daily_run(customer_database_url))
