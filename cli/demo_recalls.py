"""The demo network's quality loop going down (issue 18): D-NORTH's countermeasure bulletin, read
by one of its three dealers so far, and the manufacturer's recall of some North and South cars,
a few of them already fixed (a visit with the remedy op code), so its progress per dealer and
pooled up the tree has figures. Through the public API, with a key of each org that acts.
"""

from datetime import datetime, timedelta

from csloop_sdk import CSLoop

SCOPES = ["complaints:read", "complaints:write"]
BULLETIN_DISTRIBUTOR, BULLETIN_READER = "D-NORTH", "DLR-0041"
RECALL_CODE, REMEDY = "RC-DEMO-01", "RC01A"
# Per dealer: how many of its cars are recalled, and how many of those are fixed already.
RECALL_CARS = {"DLR-0041": (4, 3), "DLR-0042": (3, 1), "DLR-0051": (4, 2)}


def _as(api: CSLoop, gateway_url: str, org_code: str) -> CSLoop:
    key = api.api_keys.create(org_code=org_code, name="demo quality loop", scopes=SCOPES).key
    return CSLoop(gateway_url, api_key=key)


def seed_recalls(api: CSLoop, gateway_url: str, *, now: datetime) -> dict[str, int]:
    with _as(api, gateway_url, BULLETIN_DISTRIBUTOR) as north, _as(api, gateway_url, BULLETIN_READER) as reader:
        bulletin = north.bulletins.publish(
            title="Brake squeal at low speed: replace the pads with part 04465-DEMO",
            body="Cars of the 2024 batch squeal when braking below 20 km/h. Replace the front pads and clean "
                 "the caliper guides (op code BRK-02); warranty covers the work.",
            models=["Camry"], symptom_codes=["BRK-01"])
        reader.bulletins.ack(bulletin.id)
    cars: dict[str, list] = {dealer: [] for dealer in RECALL_CARS}
    for vehicle in api.vehicles.list():
        if vehicle.dealer_code in cars and vehicle.owner_customer_id and len(cars[vehicle.dealer_code]) < RECALL_CARS[vehicle.dealer_code][0]:
            cars[vehicle.dealer_code].append(vehicle)
    api.recalls.create(code=RECALL_CODE, title="Fuel pump relay may stick", remedy_op_code=REMEDY,
                       vins=[car.vin for dealer_cars in cars.values() for car in dealer_cars])
    fixed = 0
    for dealer, dealer_cars in cars.items():
        for index, car in enumerate(dealer_cars[:RECALL_CARS[dealer][1]]):
            opened = now - timedelta(days=index + 1, hours=4)
            api.service_visits.create(ro_number=f"RO-{dealer}-RC-{index}", vin=car.vin, customer_id=car.owner_customer_id,
                                      dealer_code=dealer, visit_type="recall", opened_at=opened.isoformat(),
                                      closed_at=(opened + timedelta(hours=2)).isoformat(), op_codes=[REMEDY],
                                      mileage_km=20_000, amount_minor=0)
            fixed += 1
    return {"bulletins": 1, "recall_vins": sum(len(c) for c in cars.values()), "recall_fixed": fixed}
