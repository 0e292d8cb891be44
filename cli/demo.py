"""The demo network `csloop up` seeds: 1 manufacturer, 2 distributors, 6 dealers and their customers,
then a year of survey results, complaints and targets (`demo_history`), the CR desk (`demo_desk`)
an improvement plan (`demo_plans`), a finished care campaign (`demo_campaigns`), a quality
signal answered by a bulletin and a recall with progress (`demo_recalls`), and the daily
lifecycle and value run over them all (`demo_standing`).

Everything after the bootstrap goes through the public API, as a DMS would send it, so the
demo exercises the same paths as production traffic; only the campaign's launch (dated in the
past) and the daily run are called on the customer service's database.
"""

import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from csloop_sdk import CSLoop
from cli.demo_campaigns import seed_campaign
from cli.demo_desk import DEMO_AGENT, DESK_DEALER_INDEX, seed_desk
from cli.demo_evaluation import seed_evaluation
from cli.demo_history import seed_history
from cli.demo_plans import seed_plans
from cli.demo_recalls import seed_recalls
from cli.demo_standing import rank_customers
from shared.types import vin_check_digit

MANUFACTURER = ("FTMS", "CSLoop Motors (demo manufacturer)")
DISTRIBUTORS = {"D-NORTH": ("North region", "North"), "D-SOUTH": ("South region", "South")}
DEALERS = {
    "DLR-0041": ("D-NORTH", "Beijing Yizhuang 4S"), "DLR-0042": ("D-NORTH", "Tianjin Binhai 4S"),
    "DLR-0043": ("D-NORTH", "Shenyang Hunnan 4S"), "DLR-0051": ("D-SOUTH", "Guangzhou Tianhe 4S"),
    "DLR-0052": ("D-SOUTH", "Shenzhen Futian 4S"), "DLR-0053": ("D-SOUTH", "Xiamen Huli 4S"),
}
MODELS = ("Corolla", "Camry", "RAV4", "Highlander", "bZ4X")
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰")
CUSTOMERS_PER_DEALER = 12
# Each dealer's staff, by code prefix: deliveries, repair orders and calls name them by code.
STAFF = (("SA", "service_advisor", 4), ("SC", "sales_consultant", 2), ("TE", "technician", 3), ("CR", "cr_agent", 2),
         ("MG", "manager", 1))
CREDENTIALS_FILE = "demo.json"
DEMO_USERNAME = "demo"
# What the dashboard (/ui) reads; the demo user sees the whole demo network but changes nothing.
DEMO_USER_SCOPES = ["kpi:read", "customers:read", "surveys:read", "complaints:read"]
DESK_USERNAME = "agent"
# What the desk page (/ui/desk) needs: a CR agent of one dealer records calls and reads cases;
# without pii:read phones stay masked, as for an agent who only dials through the phone system.
DESK_USER_SCOPES = ["customers:read", "customers:write", "complaints:read"]


def saved_credentials(data_dir: Path) -> dict | None:
    path = data_dir / CREDENTIALS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def save_credentials(data_dir: Path, credentials: dict) -> None:
    path = data_dir / CREDENTIALS_FILE
    path.write_text(json.dumps(credentials))
    path.chmod(0o600)


def demo_vin(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    body = "".join(rng.choice(alphabet) for _ in range(17))
    return body[:8] + vin_check_digit(body) + body[9:]


def seed(gateway_url: str, api_key: str, *, customer_database_url: str, seed_value: int = 42,
         now: datetime | None = None) -> dict[str, int]:
    """Create the demo organisations and records as of `now`; returns what was created, by kind. The
    customer service's database is where the finished campaign is launched in the past (demo_campaigns)."""
    rng = random.Random(seed_value)
    counts = {"orgs": 0, "staff": 0, "customers": 0, "vehicles": 0, "visits": 0, "slipping_customers": 0}
    with CSLoop(gateway_url, api_key=api_key) as api:
        for code, (name, region) in DISTRIBUTORS.items():
            api.orgs.create(code=code, name=name, kind="distributor", parent_code=MANUFACTURER[0], region=region)
            counts["orgs"] += 1
        for code, (parent, name) in DEALERS.items():
            api.orgs.create(code=code, name=name, kind="dealer", parent_code=parent, region=DISTRIBUTORS[parent][1])
            counts["orgs"] += 1
        now = now or datetime.now(UTC)
        # Its own generator, so the customers stay what they were before staff existed.
        staff_rng = random.Random(f"{seed_value}-staff")
        staff = {}
        for dealer in DEALERS:
            staff[dealer] = _seed_staff(api, staff_rng, dealer, counts)
            for index in range(CUSTOMERS_PER_DEALER):
                _seed_customer(api, rng, dealer, index, now, counts, staff[dealer], staff_rng)
        counts |= seed_history(api, staff, MANUFACTURER[0], now=now)
        counts |= seed_desk(api, list(DEALERS), now=now)
        counts |= seed_plans(api, now=now)
        counts |= seed_evaluation(api, MANUFACTURER[0], now=now)
        counts |= seed_campaign(api, MANUFACTURER[0], list(DEALERS), customer_database_url, now=now)
        counts["tech_requests"] = _seed_tech_requests(api, random.Random(f"{seed_value}-tech"))
        counts |= seed_recalls(api, gateway_url, now=now)
        slipping_rng = random.Random(f"{seed_value}-slipping")
        for dealer in DEALERS:
            _seed_slipping(api, slipping_rng, dealer, now, counts)
        counts |= rank_customers(customer_database_url)
    return counts


def _seed_tech_requests(api: CSLoop, rng: random.Random) -> int:
    """Two technical questions of DLR-0041 to D-NORTH's team: one answered (by the manufacturer's
    key, which may answer for the teams below it), one still open against its answer due time."""
    dealer = "DLR-0041"
    answered = api.tech_requests.create(
        dealer_code=dealer, vin=demo_vin(rng), symptom_codes=["ENG-07"], priority="P2",
        description="Rough idle and a misfire code after the ECU update; plugs and coils replaced, still there")
    api.tech_requests.answer(answered, "Known issue of ECU software 4.2.0: flash 4.2.1 (bulletin TB-2026-017) "
                                       "and clear the adaptation values; the misfire code goes with it")
    api.tech_requests.create(
        dealer_code=dealer, vin=demo_vin(rng), symptom_codes=["NVH-02"], priority="P3",
        description="Humming from the rear axle above 90 km/h after the wheel bearing was replaced")
    return 2


def _seed_staff(api: CSLoop, rng: random.Random, dealer: str, counts: dict[str, int]) -> dict[str, list[str]]:
    """SA01.., SC01.., TE01.., CR01.., MG01 with Chinese names; their codes by role."""
    codes: dict[str, list[str]] = {}
    for prefix, role, how_many in STAFF:
        for number in range(1, how_many + 1):
            code = f"{prefix}{number:02d}"
            api.staff.create(dealer_code=dealer, code=code, role=role,
                             name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)))
            codes.setdefault(role, []).append(code)
            counts["staff"] += 1
    return codes


def _seed_customer(api: CSLoop, rng: random.Random, dealer: str, index: int, now: datetime, counts: dict[str, int],
                   staff: dict[str, list[str]], staff_rng: random.Random) -> None:
    customer = api.customers.create(
        external_id=f"{dealer}-C{index:04d}", dealer_code=dealer,
        name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
        phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        city=rng.choice(("北京", "天津", "沈阳", "广州", "深圳", "厦门")),
        birth_date=f"{rng.randint(1960, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        consent={"survey": True, "marketing": rng.random() < 0.6, "share_with_manufacturer": rng.random() < 0.8},
    )
    counts["customers"] += 1
    vin = demo_vin(rng)
    delivered_at = now - timedelta(days=rng.randint(30, 900))
    api.vehicles.create(vin=vin, model=rng.choice(MODELS), model_year=delivered_at.year,
                       plate=f"京A{rng.randint(10000, 99999)}", owner_customer_id=customer.id)
    api.deliveries.create(vin=vin, customer_id=customer.id, dealer_code=dealer,
                        delivered_at=delivered_at.isoformat(), sales_consultant=staff_rng.choice(staff["sales_consultant"]))
    counts["vehicles"] += 1
    for visit in range(rng.randint(0, 3) + 1):
        # The last visit is recent for most customers: this month has repair orders, follow-ups
        # and CSI invitations, as a live network would.
        recent = visit == 0 and rng.random() < 0.6
        opened = now - timedelta(days=rng.uniform(1, 25)) if recent else delivered_at + timedelta(days=rng.randint(20, 600))
        if opened >= now:
            continue
        api.service_visits.create(
            ro_number=f"RO-{dealer}-{index:04d}-{visit}", vin=vin, customer_id=customer.id, dealer_code=dealer,
            visit_type=rng.choice(("maintenance", "maintenance", "repair", "warranty")),
            opened_at=opened.isoformat(),
            closed_at=min(opened + timedelta(hours=rng.randint(2, 30)), now - timedelta(minutes=5)).isoformat(),
            symptom_codes=[rng.choice(("BRK-01", "ENG-07", "AC-03", "NVH-02"))], op_codes=["OP-100"],
            mileage_km=rng.randint(1000, 90000), amount_minor=rng.randint(20_000, 400_000),
            advisor=staff_rng.choice(staff["service_advisor"]), technician=staff_rng.choice(staff["technician"]),
        )
        counts["visits"] += 1


# Months since the last service visit of the customers slipping away: at risk from 9, lapsed from
# 12 (DOMAIN.md), so the lifecycle funnel and the win-back calls have someone in them.
SLIPPING_MONTHS_AGO = (10, 11, 15)


def _seed_slipping(api: CSLoop, rng: random.Random, dealer: str, now: datetime, counts: dict[str, int]) -> None:
    """Customers whose last service visit was 10, 11 and 15 months ago: two at risk, one lapsed."""
    for index, months in enumerate(SLIPPING_MONTHS_AGO):
        customer = api.customers.create(
            external_id=f"{dealer}-S{index:02d}", dealer_code=dealer,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            phone=f"15{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
            consent={"survey": True, "marketing": True, "share_with_manufacturer": True})
        vin = demo_vin(rng)
        delivered_at = now - timedelta(days=rng.randint(800, 1100))
        api.vehicles.create(vin=vin, model=rng.choice(MODELS), model_year=delivered_at.year,
                            plate=f"京B{rng.randint(10000, 99999)}", owner_customer_id=customer.id)
        api.deliveries.create(vin=vin, customer_id=customer.id, dealer_code=dealer, delivered_at=delivered_at.isoformat())
        opened = now - timedelta(days=months * 30.5 + rng.uniform(0, 10))
        api.service_visits.create(
            ro_number=f"RO-{dealer}-S{index:02d}", vin=vin, customer_id=customer.id, dealer_code=dealer,
            visit_type="maintenance", opened_at=opened.isoformat(), closed_at=(opened + timedelta(hours=3)).isoformat(),
            op_codes=["OP-100"], mileage_km=rng.randint(20_000, 90_000), amount_minor=rng.randint(40_000, 150_000))
        counts["slipping_customers"] += 1


def create_demo_users(gateway_url: str, api_key: str) -> dict[str, dict[str, str]]:
    """With fresh passwords: a manufacturer-level user for the dashboard, and a CR agent of the
    first dealer (staff code CR01, today's calls seeded for them) for the desk page."""
    users = {"dashboard_user": (DEMO_USERNAME, MANUFACTURER[0], ["viewer"], DEMO_USER_SCOPES, None),
             "desk_user": (DESK_USERNAME, list(DEALERS)[DESK_DEALER_INDEX], ["cr_agent"], DESK_USER_SCOPES, DEMO_AGENT)}
    credentials = {}
    with CSLoop(gateway_url, api_key=api_key) as api:
        for key, (username, org_code, roles, scopes, staff_code) in users.items():
            password = secrets.token_urlsafe(12)
            api.users.create(username=username, password=password, org_code=org_code, roles=roles, scopes=scopes,
                             staff_code=staff_code)
            credentials[key] = {"username": username, "password": password}
    return credentials
