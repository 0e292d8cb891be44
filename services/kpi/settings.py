"""The KPI service's settings (CSLOOP_* environment variables)."""

from shared.settings import CommonSettings


class KpiSettings(CommonSettings):
    service_name: str = "kpi"
    database_url: str = "sqlite+aiosqlite:///./data/kpi.db"
    public_url: str = "http://127.0.0.1:8004"
    # The source services a rebuild reads facts from (`csloop up` sets these for every process).
    customer_url: str = "http://127.0.0.1:8001"
    survey_url: str = "http://127.0.0.1:8002"
    complaint_url: str = "http://127.0.0.1:8003"
    # Key-driver importance needs this many responses before a correlation means anything.
    drivers_min_responses: int = 30
    # A person is ranked on a KPI from this many records (KPI.md, People KPIs); below, `rank` is null.
    people_min_n: int = 10
    # Improvement plans: the job that stores re-check results and publishes overdue actions.
    jobs_enabled: bool = True
    plans_job_interval_seconds: float = 300.0
