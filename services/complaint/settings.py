"""The complaint service's settings (CSLOOP_* environment variables)."""

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from shared.settings import CommonSettings


class ComplaintSettings(CommonSettings):
    service_name: str = "complaint"
    database_url: str = "sqlite+aiosqlite:///./data/complaint.db"
    public_url: str = "http://127.0.0.1:8003"
    jobs_enabled: bool = True
    # How often the SLA job looks for breaches; a breach is reported at most this late.
    sla_job_interval_seconds: float = 30.0
    # EDER: this many product-quality cases from this many dealers within the window raise a signal.
    quality_min_cases: int = 3
    quality_min_dealers: int = 2
    quality_window_days: int = 30
    # A survey alert on a response submitted longer ago than this opens no case (late bulk results).
    alert_case_max_age_days: float = 30.0
    # Where a new case's references are checked (`csloop up`, compose and k8s set these for every process).
    customer_url: str = "http://127.0.0.1:8001"
    survey_url: str = "http://127.0.0.1:8002"
    # For a year the official calendar package does not cover yet: the State Council's
    # holidays and make-up working days (JSON lists of dates), until the package is upgraded.
    calendar_extra_holidays: list[date] = Field(default_factory=list)
    calendar_extra_workdays: list[date] = Field(default_factory=list)
    # Technical requests: business hours (on the dealer's SLA calendar) each technical team has to
    # answer, per priority; an escalation gives the next team as long again.
    tech_request_answer_hours: dict[Literal["P1", "P2", "P3", "P4"], Annotated[float, Field(gt=0, le=24 * 365)]] = Field(
        default_factory=lambda: {"P1": 2, "P2": 8, "P3": 24, "P4": 40})
    # How often unacknowledged bulletins are looked for (a reminder is due at a working day's close).
    bulletin_job_interval_seconds: float = 300.0
