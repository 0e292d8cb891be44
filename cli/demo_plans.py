"""The demo network's improvement plan (issue 15): DLR-0041 is weak on the service facility
(demo_history's profile), so its CSI plan fixes the waiting lounge. The plan is under way (`do`):
one action done, one past its due date and not done (the KPI service's job publishes
`improvement.action_overdue` for it, to DLR-0041's webhooks and D-NORTH's), one still ahead.
Owners are the dealer's staff codes (cli/demo.py STAFF). Through the public API, like the rest
of the demo.
"""

from datetime import datetime, timedelta

from csloop_sdk import CSLoop

DEALER = "DLR-0041"


def seed_plans(api: CSLoop, *, now: datetime) -> dict[str, int]:
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    plan = api.improvement_plans.create(
        org_code=DEALER, kpi="csi", period=last_month, baseline=82.0, target=85.0, recheck_period=now.strftime("%Y-%m"),
        cause="Customers wait for their car in a cramped lounge with no Wi-Fi; the service facility scores lowest.",
        source={"kind": "driver", "ref": "service_facility"},
        actions=[{"description": "Add Wi-Fi and charging points to the customer lounge.", "owner": "MG01",
                  "due": (now - timedelta(days=10)).date().isoformat()},
                 {"description": "Offer a shuttle or a loan car for repairs longer than two hours.", "owner": "SA01",
                  "due": (now - timedelta(days=3)).date().isoformat()},
                 {"description": "Refurbish the lounge seating.", "owner": "MG01",
                  "due": (now + timedelta(days=21)).date().isoformat()}])
    api.improvement_plans.transition(plan, "do")
    api.improvement_plans.done(plan, 0)
    return {"improvement_plans": 1}
