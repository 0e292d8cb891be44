"""The demo network's quality loop (issue 18): three product-quality complaints about one model's
brakes at two North dealers raise a quality signal; D-NORTH answers it with a countermeasure
bulletin, read by one of its three dealers so far, and the manufacturer's recall of some North and South cars,
a few of them already fixed (a visit with the remedy op code), so its progress per dealer and
pooled up the tree has figures. Through the public API, with a key of each org that acts.
"""

from datetime import datetime, timedelta

from csloop_sdk import CSLoop

SCOPES = ["complaints:read", "complaints:write"]
BULLETIN_DISTRIBUTOR, BULLETIN_READER = "D-NORTH", "DLR-0041"
RECALL_CODE, REMEDY = "RC-DEMO-01", "RC01A"
SIGNAL_MODEL, SIGNAL_SYMPTOM = "Camry", "BRK-01"
# The complaints that raise the signal: >= 3 pieces of evidence from >= 2 dealers (DOMAIN.md).
SIGNAL_COMPLAINTS = (("DLR-0041", "Brakes squeal below 20 km/h since the first service"),
                     ("DLR-0041", "Squeal from the front brakes when parking, pads look new"),
                     ("DLR-0042", "Customer reports a brake squeal at low speed, second visit for it"))
# Per dealer: how many of its cars are recalled, and how many of those are fixed already.
RECALL_CARS = {"DLR-0041": (4, 3), "DLR-0042": (3, 1), "DLR-0051": (4, 2)}


def _as(api: CSLoop, gateway_url: str, org_code: str) -> CSLoop:
    key = api.api_keys.create(org_code=org_code, name="demo quality loop", scopes=SCOPES).key
    return CSLoop(gateway_url, api_key=key)


def seed_recalls(api: CSLoop, gateway_url: str, *, now: datetime) -> dict[str, int]:
    for dealer, description in SIGNAL_COMPLAINTS:
        api.complaints.create(dealer_code=dealer, channel="hotline", category="product_quality", priority="P2",
                              description=description, vehicle_model=SIGNAL_MODEL, symptom_codes=[SIGNAL_SYMPTOM])
    with _as(api, gateway_url, BULLETIN_DISTRIBUTOR) as north, _as(api, gateway_url, BULLETIN_READER) as reader:
        signal = next(s for s in north.quality_signals.list()
                      if (s.vehicle_model, s.symptom_code) == (SIGNAL_MODEL, SIGNAL_SYMPTOM))
        bulletin = north.bulletins.publish(signal_id=signal.id,
            title="Brake squeal at low speed: replace the pads with part 04465-DEMO",
            body="Cars of the 2024 batch squeal when braking below 20 km/h. Replace the front pads and clean "
                 "the caliper guides (op code BRK-02); warranty covers the work.",
            models=[SIGNAL_MODEL], symptom_codes=[SIGNAL_SYMPTOM])
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
    return {"quality_signals": 1, "bulletins": 1, "recall_vins": sum(len(c) for c in cars.values()), "recall_fixed": fixed}
