"""The survey service's settings (CSLOOP_* environment variables)."""

from pydantic import Field

from shared.replicas import first_url
from shared.settings import CommonSettings


class SurveySettings(CommonSettings):
    service_name: str = "survey"
    database_url: str = "sqlite+aiosqlite:///./data/survey.db"
    public_url: str = "http://127.0.0.1:8002"
    # Asked for a customer named before its customer.created event arrived (read-your-writes).
    customer_url: str = "http://127.0.0.1:8001"
    # Where customers open survey links: the gateway's public address (`{base}/s/{token}`).
    # Empty means `gateway_url` (its first replica), which is right for a single machine.
    survey_link_base: str = ""
    invitation_expiry_days: int = 14
    # DOMAIN.md: one customer is not surveyed more than once in 30 days.
    fatigue_days: int = 30
    # Invitations made by events go out this long after the delivery or the closed visit.
    ssi_delay_days: float = 3.0
    csi_delay_days: float = 3.0
    resolution_delay_days: float = 0.0
    reminder_after_days: float = 3.0
    # Facts whose invitation would have been due longer ago than this get none (back-fills).
    late_invitation_days: float = 14.0
    # The channel of event-made invitations (a notifier subscribed to survey.invitation.sent delivers it).
    default_channel: str = "sms"
    csi_visit_types: list[str] = Field(default_factory=lambda: ["maintenance", "repair", "warranty", "recall"])
    jobs_enabled: bool = True
    jobs_interval_seconds: float = 60.0
    export_page_rows: int = 1000
    # Survey integrity (DOMAIN.md): the defaults of every organisation's rules, and a survey's
    # expected answer time per question shown when its definition names none.
    integrity_seconds_per_question: float = 5.0
    integrity_speeder_min_share: float = 1 / 3
    integrity_straight_line_min_items: int = 8
    integrity_shared_device_customers: int = 3
    integrity_shared_device_days: int = 7
    integrity_duplicate_text_others: int = 2
    integrity_spike_sd: float = 3.0
    integrity_spike_weeks: int = 12
    integrity_spike_min_n: int = 10
    # The dealer_spike pass judges the last complete week; daily, so a week is judged on its Monday.
    integrity_spike_interval_seconds: float = 86400.0

    @property
    def link_base(self) -> str:
        return (self.survey_link_base or first_url(self.gateway_url)).rstrip("/")
