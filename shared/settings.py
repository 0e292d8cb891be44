"""Settings common to every CSLoop process, read from CSLOOP_* environment variables."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "csloop-development-secret-change-me"


def _comma_separated(value: object) -> object:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


# A list read from one environment variable as `a,b,c` (rather than JSON).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]


class CommonSettings(BaseSettings):
    """What every process needs. A service subclasses this and adds its own fields.

    The environment names are shared on purpose: `csloop up` and docker-compose set
    CSLOOP_INTERNAL_SECRET once and every process reads the same value.
    """

    model_config = SettingsConfigDict(env_prefix="CSLOOP_", extra="ignore")

    service_name: str = "csloop"
    environment: str = "development"
    database_url: str = "sqlite+aiosqlite:///./data/csloop.db"
    # PostgreSQL connections a process keeps open (idle ones included), and how many more it may
    # open for a burst (closed again after). Sized with the server's max_connections in view:
    # every replica of every process holds `database_pool_size` (shared/db.py create_engine).
    database_pool_size: int = Field(10, ge=1)
    database_max_overflow: int = Field(10, ge=0)
    internal_secret: str = DEVELOPMENT_SECRET
    internal_token_ttl_seconds: int = 120
    # The gateway's base URL; replicas comma-separated, taken in turn (shared/replicas.py), as in
    # every setting naming another process (`CSLOOP_CUSTOMER_URL`...).
    gateway_url: str = "http://127.0.0.1:8000"
    # This process's own base URL, as other processes reach it.
    public_url: str = "http://127.0.0.1:8000"
    # Event type prefix -> base URLs of the services that consume it (relay targets).
    event_subscriptions: dict[str, list[str]] = Field(default_factory=dict)
    # "http": the relay POSTs to `event_subscriptions`; "nats": JetStream carries every event
    # and each service reads the stream through a durable consumer of its own.
    event_transport: Literal["http", "nats"] = "http"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = "CSLOOP_EVENTS"
    nats_subject_prefix: str = "csloop.events"
    # Copies of the stream in a NATS cluster (3 in deploy/k8s: a server lost loses no event).
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    relay_interval_seconds: float = 0.5
    relay_enabled: bool = True
    # Sent outbox rows, their deliveries and processed-event ids are pruned after this long
    # (shared/retention.py), checked every `housekeeping_interval_seconds`.
    event_retention_days: float = 7.0
    housekeeping_interval_seconds: float = 3600.0
    # OpenTelemetry tracing (shared/tracing.py): off by default; OTLP/HTTP base URL, else console.
    otel_enabled: bool = False
    otel_endpoint: str | None = None
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For names the client;
    # empty: no proxy is trusted and the client is the TCP peer (uvicorn alone would trust
    # 127.0.0.1, i.e. any process on the host could claim to be any client).
    forwarded_allow_ips: CommaList = []
    # On SIGTERM, how long a process keeps serving while /readyz answers 503, before it stops
    # listening (shared.serve.DrainingServer): long enough for the balancers' next readiness probe.
    # Short here so `csloop up` stops fast; deploy/k8s sets it for Kubernetes' endpoint updates.
    drain_seconds: float = Field(default=1.0, ge=0)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> "CommonSettings":
        if self.environment != "development" and self.internal_secret == DEVELOPMENT_SECRET:
            raise ValueError("CSLOOP_INTERNAL_SECRET must be set outside development")
        return self
