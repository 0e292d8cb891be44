"""The demo network's CR desk (issue 14), so `/ui/desk` and the desk KPIs have believable data.

Per dealer, with the people demo.seed put on its staff (SA01-03 advisors, SC01-02 consultants,
TE01-03 technicians, CR01-02 CR agents): desk settings naming who gets which follow-ups; the
follow-ups the seed's deliveries and visits made, assigned and mostly worked (reached and
satisfied, a few reached only on a second try, some unreachable after three calls, one
dissatisfied customer per dealer whose call opens a complaint case, a few recent ones not called
yet); contact history; appointments (arrived with their visit, no-shows, a cancellation, some
booked ahead). At the first dealer, CR agent `CR01` (the demo user's staff code) has new-car and
service calls due today, and a customer with phone 138 1234 5678 has an open call and an open
case, for the screen pop.

Follow-ups are made by the customer service from events, so the seed waits for them to appear.
Everything goes through the public API (the SDK), like the rest of the demo.
"""

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from csloop_sdk import CSLoop
from csloop_sdk.models import FollowUp
from shared.types import vin_check_digit

Json = dict[str, Any]

CHINA = timezone(timedelta(hours=8))

# Staff codes demo.seed creates at every dealer (cli/demo.py STAFF).
ADVISORS = ("SA01", "SA02", "SA03")
CONSULTANTS = ("SC01", "SC02")
TECHNICIANS = ("TE01", "TE02", "TE03")
AGENTS = ("CR01", "CR02")
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = ("建国", "秀英", "志强", "丽娟", "海涛", "晓燕", "俊杰", "文静", "永明", "春梅", "国栋", "佳怡", "子轩",
         "雨桐", "浩然", "思琪", "立新", "婷婷", "振华", "慧敏")
DEMO_AGENT = "CR01"
DESK_DEALER_INDEX = 0  # the dealer whose CR01 has today's calls
CALL_KINDS_TO = {"new_car": "CR01", "service": "CR01", "win_back": "CR02", "recall": "CR02", "prospect": "SC01",
                 "birthday": "CR02", "holiday": "CR02"}
# services/customer/settings.py: a delivery's or a repair's call is due three days on.
NEW_CAR_DAYS = SERVICE_DAYS = 3
TODAY_NEW_CARS = 4
TODAY_REPAIRS = 3
TODAY_DONE = 2
# Older calls a desk has long worked through; the recent ones may still wait for a first try.
STILL_WAITING_WITHIN = timedelta(days=5)
SCREEN_POP_PHONE = "13812345678"
MODELS = ("卡罗拉", "凯美瑞", "RAV4荣放", "汉兰达", "bZ4X")
ISSUES = (["not_fixed"], ["price"], ["attitude"], ["parts"], ["not_fixed", "attitude"], ["product"])
NOTES_SATISFIED = ("客户对保养很满意，提醒下次保养时间。", "客户表示交车讲解很清楚。", "客户满意，已告知预约电话。",
                   "客户很满意服务顾问的沟通。", "客户满意，建议增加洗车等候区座位。")
NOTES_NEUTRAL = ("客户觉得等待时间偏长。", "客户认为价格略高，但可以接受。", "客户表示一般，没有具体意见。")
NOTES_DISSATISFIED = {
    "not_fixed": "刹车异响维修后两天又出现，客户很不满意，要求尽快处理。",
    "price": "客户认为工时费比报价高出不少，要求解释。",
    "attitude": "客户反映服务顾问态度冷淡，没有主动说明增项。",
    "parts": "配件等了两周还没到，客户很着急。",
    "product": "客户反映车机系统频繁死机。",
}
INTERACTIONS = [  # (channel, direction, reason, summary)
    ("phone", "inbound", "inquiry", "咨询首保的时间和费用。"),
    ("phone", "inbound", "appointment", "预约周六上午保养。"),
    ("wechat", "inbound", "inquiry", "询问延保政策。"),
    ("phone", "outbound", "care", "提醒年检到期。"),
    ("sms", "outbound", "care", "发送保养提醒短信。"),
    ("phone", "inbound", "complaint", "反映上次维修后空调异味，已转服务经理。"),
    ("walk_in", "inbound", "inquiry", "到店咨询置换政策。"),
]


def seed_desk(api: CSLoop, dealers: list[str], *, seed_value: int = 14, now: datetime | None = None,
              wait_seconds: float = 60.0) -> dict[str, int]:
    """Seed the desk for `dealers` (after demo.seed's customers and visits); returns counts by kind."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    counts = {"followups_worked": 0, "attempts": 0, "interactions": 0, "appointments": 0, "today_calls": 0}
    desk = Desk(api, rng, now, counts, wait_seconds)
    for index, dealer in enumerate(dealers):
        desk.settings(dealer, maintenance=index % 2 == 0)
    for index, dealer in enumerate(dealers):
        customers = desk.customers(dealer)
        desk.appointments(dealer, customers)
        desk.history(dealer, customers)
        desk.work_backlog(dealer)
        if index == DESK_DEALER_INDEX:
            desk.todays_calls(dealer, customers)
    return counts


class Desk:
    def __init__(self, api: CSLoop, rng: random.Random, now: datetime, counts: dict[str, int], wait_seconds: float) -> None:
        self.api, self.rng, self.now, self.counts, self.wait_seconds = api, rng, now, counts, wait_seconds

    def settings(self, dealer: str, *, maintenance: bool) -> None:
        self.api.desk_settings.put(dealer, version=self.api.desk_settings.get(dealer), default_assignees=CALL_KINDS_TO,
                                   maintenance_followups=maintenance, max_attempts=3)

    # --- the dealer's customers --------------------------------------------------------------------

    def customers(self, dealer: str) -> list[Json]:
        """The dealer's customers with their first car, as the seed made them."""
        found = []
        for customer in self.api.customers.list(dealer_code=dealer):
            if car := next(iter(self.api.vehicles.list(owner_customer_id=str(customer.id))), None):
                found.append({"id": str(customer.id), "vin": car.vin})
        return found

    def appointments(self, dealer: str, customers: list[Json]) -> None:
        """Past slots that arrived (their visit keeps the appointment), no-shows and a cancellation;
        slots in the coming days still booked."""
        plan = ["arrived"] * 6 + ["no_show"] * 2 + ["cancelled"] + ["booked"] * 3
        # The dashboard opens on this month: its first days have an arrival and a no-show too.
        month_start = self.now.astimezone(CHINA).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for n, (fate, customer) in enumerate(zip(plan, self.rng.sample(customers, k=min(len(plan), len(customers))))):
            if fate == "booked":
                slot = _on_the_hour(self.now + timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 6)))
            else:
                slot = _on_the_hour(self.now - timedelta(days=self.rng.randint(2, 40), hours=self.rng.randint(0, 6)))
                if n in (0, 6) and (recent := _on_the_hour(self.now - timedelta(hours=self.rng.randint(3, 30)))) < self.now - timedelta(hours=1):
                    slot = max(recent, month_start)
            requested = slot - timedelta(days=self.rng.randint(1, 9), hours=self.rng.randint(1, 8))
            advisor = self.rng.choice(ADVISORS)
            booked = self.api.appointments.create(
                dealer_code=dealer, customer_id=customer["id"], vin=customer["vin"], requested_at=requested, slot_at=slot,
                service_type=self.rng.choice(("maintenance", "maintenance", "repair")), advisor=advisor)
            self.counts["appointments"] += 1
            if fate == "arrived":  # the visit names its appointment, which marks it arrived
                opened = slot + timedelta(minutes=self.rng.randint(-10, 25))
                self.api.service_visits.create(
                    ro_number=f"RO-{dealer}-AP{n:02d}", vin=customer["vin"], customer_id=customer["id"], dealer_code=dealer,
                    visit_type=booked.service_type, opened_at=opened,
                    closed_at=min(opened + timedelta(hours=self.rng.randint(2, 26)), self.now - timedelta(minutes=5)),
                    op_codes=["OP-100"], mileage_km=self.rng.randint(5000, 80000),
                    amount_minor=self.rng.randint(30_000, 250_000), advisor=advisor,
                    technician=self.rng.choice(TECHNICIANS), appointment_id=str(booked.id))
            elif fate != "booked":
                self.api.appointments.set_status(booked, to=fate)

    def history(self, dealer: str, customers: list[Json]) -> None:
        for customer in self.rng.sample(customers, k=len(customers) // 2):
            for _ in range(self.rng.randint(1, 3)):
                channel, direction, reason, summary = self.rng.choice(INTERACTIONS)
                day = (self.now - timedelta(days=self.rng.randint(2, 90))).astimezone(CHINA)
                started = day.replace(hour=self.rng.randint(8, 18), minute=self.rng.randint(0, 59))  # office hours
                self.api.interactions.log(
                    channel=channel, direction=direction, reason=reason, started_at=started,
                    dealer_code=dealer, customer_id=customer["id"], summary=summary,
                    agent=self.rng.choice((*AGENTS, ADVISORS[0])), duration_s=self.rng.randint(40, 600))
                self.counts["interactions"] += 1

    # --- follow-ups ----------------------------------------------------------------------------------

    def open_followups(self, dealer: str, **filters: Any) -> list[FollowUp]:
        return list(self.api.follow_ups.list(dealer_code=dealer, status="open", page_size=500, **filters))

    def settled(self, read: Callable[[], list[FollowUp]], enough: Callable[[list[FollowUp]], bool]) -> list[FollowUp]:
        """Follow-ups come from events: read until `enough` holds and two reads agree, or time runs out."""
        deadline = time.monotonic() + self.wait_seconds
        last: list[FollowUp] | None = None
        while True:
            found = read()
            if (enough(found) and last is not None and len(found) == len(last)) or time.monotonic() > deadline:
                return found
            last = found
            time.sleep(1)

    def work_backlog(self, dealer: str) -> None:
        """Assign the calls due before today and work most of them, as a CR team would have."""
        start_of_today = self.now.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
        backlog = self.settled(lambda: self.open_followups(dealer, due_before=start_of_today), bool)
        dissatisfied_at = self.rng.randrange(len(backlog)) if backlog else -1
        for n, followup in enumerate(backlog):
            agent = followup.assignee or AGENTS[n % 2]
            if not followup.assignee:
                self.api.follow_ups.assign(followup, assignee=agent)
            roll = self.rng.random()
            if n == dissatisfied_at:
                issues = self.rng.choice(ISSUES)
                self.attempt(followup, agent, reached=True, satisfaction="dissatisfied", issue_codes=issues,
                             note=NOTES_DISSATISFIED[issues[0]])
            elif roll < 0.55:
                self.attempt(followup, agent, reached=True, satisfaction="satisfied", note=self.rng.choice(NOTES_SATISFIED))
            elif roll < 0.70:
                self.attempt(followup, agent, reached=True, satisfaction="neutral", note=self.rng.choice(NOTES_NEUTRAL))
            elif roll < 0.80:
                self.attempt(followup, agent, reached=False, note="无人接听")
                self.attempt(followup, agent, reached=True, satisfaction="satisfied", note="第二次拨打接通，客户满意。")
            elif roll < 0.90:
                for note in ("无人接听", "关机", "无人接听，已发短信"):
                    self.attempt(followup, agent, reached=False, note=note)
            elif self.now - followup.due_at < STILL_WAITING_WITHIN:
                continue  # not called yet: the backlog a real desk has too
            else:
                self.attempt(followup, agent, reached=True, satisfaction="satisfied", note=self.rng.choice(NOTES_SATISFIED))
            self.counts["followups_worked"] += 1

    def attempt(self, followup: FollowUp, agent: str, *, reached: bool, satisfaction: str | None = None,
                issue_codes: list[str] | None = None, note: str | None = None) -> None:
        greeting = followup.kind in ("birthday", "holiday")  # a greeting asks for no satisfaction
        self.api.follow_ups.record_attempt(followup, reached=reached, channel="phone",
                                           satisfaction=None if greeting else satisfaction,
                                           issue_codes=None if greeting else issue_codes, note=note, agent=agent)
        self.counts["attempts"] += 1

    def todays_calls(self, dealer: str, customers: list[Json]) -> None:
        """Calls that fall due today on CR01's list (the desk settings' default assignee): new cars
        delivered three days ago and repairs closed three days ago. The first new-car customer has the
        screen-pop phone and an open case."""
        before = {f.id for f in self.open_followups(dealer, assignee=DEMO_AGENT)}
        dues = [self.now + timedelta(hours=-3 + n * 0.7) for n in range(TODAY_NEW_CARS + TODAY_REPAIRS)]
        self.rng.shuffle(dues)
        for n, due in enumerate(dues[:TODAY_NEW_CARS]):
            self.new_car(dealer, n, due)
        for n, (due, customer) in enumerate(zip(dues[TODAY_NEW_CARS:], self.rng.sample(customers, k=TODAY_REPAIRS))):
            closed = due - timedelta(days=SERVICE_DAYS)
            self.api.service_visits.create(
                ro_number=f"RO-{dealer}-T{n:02d}", vin=customer["vin"], customer_id=customer["id"], dealer_code=dealer,
                visit_type="repair", opened_at=closed - timedelta(hours=self.rng.randint(3, 8)), closed_at=closed,
                symptom_codes=[self.rng.choice(("BRK-01", "AC-03", "NVH-02"))], op_codes=["OP-210"],
                mileage_km=self.rng.randint(8000, 60000), amount_minor=self.rng.randint(80_000, 300_000),
                advisor=self.rng.choice(ADVISORS), technician=self.rng.choice(TECHNICIANS))
        wanted = TODAY_NEW_CARS + TODAY_REPAIRS
        calls = self.settled(lambda: [f for f in self.open_followups(dealer, assignee=DEMO_AGENT) if f.id not in before],
                             lambda found: len(found) >= wanted)
        # CR01 has already made two of today's later calls (on time); the rest wait on the list.
        for call in sorted(calls, key=lambda f: f.due_at)[-TODAY_DONE:]:
            self.attempt(call, DEMO_AGENT, reached=True, satisfaction="satisfied", note=self.rng.choice(NOTES_SATISFIED))
        self.counts["today_calls"] = len(calls) - min(TODAY_DONE, len(calls))

    def new_car(self, dealer: str, n: int, due: datetime) -> None:
        phone = SCREEN_POP_PHONE if n == 0 else f"139{self.rng.randint(10_000_000, 99_999_999)}"
        customer = self.api.customers.create(
            external_id=f"{dealer}-D{n:03d}", dealer_code=dealer, phone=phone,
            name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN), city="北京",
            consent={"survey": True, "marketing": n % 2 == 0, "share_with_manufacturer": True})
        vin = _vin(self.rng)
        self.api.vehicles.create(vin=vin, model=self.rng.choice(MODELS), model_year=self.now.year,
                                 plate=f"京N{self.rng.randint(10000, 99999)}", owner_customer_id=customer.id)
        self.api.deliveries.create(vin=vin, customer_id=customer.id, dealer_code=dealer,
                                   delivered_at=due - timedelta(days=NEW_CAR_DAYS), sales_consultant=CONSULTANTS[n % 2])
        if n == 0:
            self.api.complaints.create(dealer_code=dealer, customer_id=customer.id, channel="hotline",
                                       category="sales_process", priority="P3", vin=vin,
                                       description="交车时承诺的脚垫和行车记录仪至今没有安装。")


def _on_the_hour(at: datetime) -> datetime:
    """A workshop slot: 08:00 to 17:00 China time, on the hour."""
    local = at.astimezone(CHINA)
    return local.replace(hour=8 + local.hour % 10, minute=0, second=0, microsecond=0).astimezone(UTC)


def _vin(rng: random.Random) -> str:
    body = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17))
    return body[:8] + vin_check_digit(body) + body[9:]
