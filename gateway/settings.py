"""Gateway settings: where the services are, and the limits it enforces in front of them."""

from shared.settings import CommonSettings

MIB = 1024 * 1024


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

    max_body_bytes: int = 1 * MIB
    # Bulk imports (`.../import`) carry whole DMS exports.
    max_import_body_bytes: int = 200 * MIB

    upstream_connect_timeout_seconds: float = 1.0
    # Between two reads of an upstream response; a long import may take minutes in total.
    upstream_read_timeout_seconds: float = 60.0
    upstream_pool_size: int = 100
    openapi_cache_seconds: float = 60.0

    access_token_ttl_seconds: int = 3600
    api_key_cache_seconds: float = 30.0
    # The 360 view answers with what it has by then; slower parts are listed as unavailable.
    view360_timeout_seconds: float = 5.0
