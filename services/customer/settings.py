"""The customer service's settings (CSLOOP_* environment variables)."""

from pydantic import Field, model_validator

from shared.settings import CommonSettings

# The events this service publishes and also consumes itself, to make follow-up tasks.
SELF_CONSUMED_EVENTS = ("vehicle.delivered", "service_visit.closed", "prospect.")


class CustomerSettings(CommonSettings):
    service_name: str = "customer"
    database_url: str = "sqlite+aiosqlite:///./data/customer.db"
    public_url: str = "http://127.0.0.1:8001"
    # DOMAIN.md: new-car and service follow-up calls within 3 days.
    new_car_followup_days: int = 3
    service_followup_days: int = 3
    # DOMAIN.md: prospect cadence by intention level (H every 2 days, A 4, B weekly, C 2 weeks).
    prospect_cadence_days: dict[str, int] = Field(default_factory=lambda: {"H": 2, "A": 4, "B": 7, "C": 14})
    # Visit types whose closing makes a service follow-up (maintenance and recalls do not).
    service_followup_visit_types: list[str] = Field(default_factory=lambda: ["repair", "warranty"])
    birthday_job_enabled: bool = True
    # The job is idempotent per customer and year, so running it hourly is harmless and
    # catches up after a restart that crossed midnight.
    birthday_job_interval_seconds: float = 3600.0
    # Holiday greetings (DOMAIN.md care): a `holiday` follow-up per customer with marketing
    # consent for each of these holidays of the official calendar (chinesecalendar's names),
    # made `holiday_lead_days` ahead of its first day (so it is on the call list in time) and
    # due that day. Tomb-sweeping Day is a day of remembrance, not of greetings.
    holiday_job_enabled: bool = True
    holiday_job_interval_seconds: float = 3600.0
    holiday_lead_days: int = Field(3, ge=0, le=30)
    holiday_greetings: list[str] = Field(default_factory=lambda: [
        "New Year's Day", "Spring Festival", "Labour Day", "Dragon Boat Festival", "Mid-autumn Festival",
        "National Day"])
    # Lifecycle and value (issue 16): the job recomputing every customer's standing, which time
    # alone changes (at risk after 9 months, lapsed after 12), and making the win-back calls.
    standing_job_enabled: bool = True
    standing_job_interval_seconds: float = 86400.0
    import_batch_rows: int = 5000
    import_max_bytes: int = 512 * 1024 * 1024
    # Always deliver our own follow-up-making events to ourselves, whatever else is configured.
    self_subscribe: bool = True

    @model_validator(mode="after")
    def _subscribe_to_own_events(self) -> "CustomerSettings":
        if self.self_subscribe:
            for event_type in SELF_CONSUMED_EVENTS:
                targets = self.event_subscriptions.setdefault(event_type, [])
                if self.public_url not in targets:
                    targets.append(self.public_url)
        return self
