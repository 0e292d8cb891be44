"""Gateway settings: where the services are, and the limits it enforces in front of them."""

from pydantic import Field, model_validator

from gateway.integrations.webhooks.sealing import DEVELOPMENT_KEY, SecretBox
from gateway.integrations.webhooks.targets import TargetPolicy, target_policy
from shared.settings import CommaList, CommonSettings

MIB = 1024 * 1024
# Public, so refused outside development (like the webhook key): hashes under it are guessable.
DEVELOPMENT_INTEGRITY_SECRET = "csloop-development-integrity-secret"


class GatewaySettings(CommonSettings):
    service_name: str = "gateway"
    database_url: str = "sqlite+aiosqlite:///./data/gateway.db"

    # Base URL of each service; None means the service is not deployed (its routes answer 503).
    customer_url: str | None = None
    survey_url: str | None = None
    complaint_url: str | None = None
    kpi_url: str | None = None

    # Token bucket per API key / user (anonymous callers: per client address). Set so that a
    # sequential client (a DMS sync, the demo seed) never trips it; it stops parallel floods
    # and runaway loops. Benchmarks that measure raw proxy throughput raise it.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    # Where the buckets (these and the login throttle's) live when there are replicas: one bucket
    # per key across them (edge/shared_ratelimit.py), e.g. redis://redis:6379/0. Unset: each
    # process keeps its own, and N replicas let N times the rate through.
    redis_url: str | None = None
    # Before every bucket's key in Redis, so gateways of two deployments may share one Redis.
    redis_key_prefix: str = "csloop:ratelimit:"

    max_body_bytes: int = 1 * MIB
    # Bulk imports (`.../import`) carry whole DMS exports.
    max_import_body_bytes: int = 200 * MIB

    upstream_connect_timeout_seconds: float = 1.0
    # Between two reads of an upstream response; a long import may take minutes in total.
    upstream_read_timeout_seconds: float = 60.0
    upstream_pool_size: int = 100
    # How often each replica of a replicated service is asked for its readiness (upstreams.py): a
    # draining or hung one is left out within this and 0.4 s; one refusing connections at once.
    upstream_probe_seconds: float = Field(0.5, gt=0)
    openapi_cache_seconds: float = 60.0

    # Bearer token Prometheus sends for the gateway's /metrics; unset: not served (metrics_access.py).
    metrics_token: str | None = None

    access_token_ttl_seconds: int = 3600
    # How long a verified API key, or an OAuth client found active, is believed without asking
    # the database again: a key revoked through another replica is refused by this one within
    # this time (deploy/CACHES.md; API.md promises 30 s, so it may only be set lower).
    api_key_cache_seconds: float = Field(default=30.0, ge=0, le=30)
    # The 360 view answers with what it has by then; slower parts are listed as unavailable.
    view360_timeout_seconds: float = 5.0

    # OAuth2 client credentials (DMS systems): short-lived, a client asks again when one expires.
    oauth_access_token_ttl_seconds: int = 900

    # Webhooks. Targets on private, loopback or link-local addresses are refused (SSRF) unless
    # this is set (tests whose receivers run on 127.0.0.1; `csloop up --allow-private-webhooks`),
    # or the exact `host:port` is listed here (comma-separated, e.g. `127.0.0.1:9100`): one local
    # receiver, without opening the services' own ports or the cloud metadata address.
    webhooks_allow_private_targets: bool = False
    webhooks_allowed_targets: CommaList = []
    # Wait before retry n (then jittered by +-20%); attempts = len + 1.
    webhooks_retry_schedule_seconds: list[float] = [5, 30, 120, 600, 1800, 7200, 18000]
    webhooks_timeout_seconds: float = 10.0
    webhooks_dispatch_interval_seconds: float = 1.0
    webhooks_batch_size: int = 50
    webhooks_dispatcher_enabled: bool = True
    # Fernet keys sealing webhook secrets at rest (webhooks/sealing.py), comma-separated: the first
    # seals, every one opens. The default is public, so outside development one must be set
    # (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
    webhooks_secret_keys: CommaList = [DEVELOPMENT_KEY]

    # Key of the salted hashes (HMAC-SHA256) of a survey answerer's address and device that the
    # gateway passes to the survey service (edge/integrity.py); per deployment, never shared
    # with the services, so a stored hash cannot be tied back to an address without it.
    integrity_secret: str = DEVELOPMENT_INTEGRITY_SECRET
    # How long a gateway process keeps the dealers' networks before reading them again (a PUT
    # applies at once in the process that took it).
    integrity_networks_cache_seconds: float = 30.0

    @model_validator(mode="after")
    def _refuse_development_integrity_secret(self) -> "GatewaySettings":
        if self.environment != "development" and self.integrity_secret == DEVELOPMENT_INTEGRITY_SECRET:
            raise ValueError("CSLOOP_INTEGRITY_SECRET must be set outside development")
        return self

    @model_validator(mode="after")
    def _refuse_missing_webhook_key(self) -> "GatewaySettings":
        if self.environment != "development" and DEVELOPMENT_KEY in self.webhooks_secret_keys:
            raise ValueError("CSLOOP_WEBHOOKS_SECRET_KEYS must be set outside development")
        try:
            self.webhook_secrets()  # no key, or one that is not a Fernet key: refused at start
        except ValueError as exc:
            raise ValueError(f"CSLOOP_WEBHOOKS_SECRET_KEYS: {exc}") from exc
        return self

    def webhook_secrets(self) -> SecretBox:
        return SecretBox(self.webhooks_secret_keys)

    def webhook_targets(self) -> TargetPolicy:
        return target_policy(self.webhooks_allow_private_targets, self.webhooks_allowed_targets)
