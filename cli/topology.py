"""Which processes make up the suite, on which ports, and who consumes whose events."""

import importlib.util
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from shared.db import is_sqlite


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    offset: int  # port = port base + offset
    consumes: tuple[str, ...] = ()  # event type prefixes ("customer." is a family)


COMPONENTS = (
    # The gateway consumes what webhooks may carry (it matches each subscription itself).
    Component("gateway", "gateway", 0, ("customer.", "vehicle.", "service_visit.", "followup.", "interaction.",
                                        "appointment.", "lifecycle.", "survey.", "complaint.", "quality.", "improvement.",
                                        "evaluation.", "campaign.", "tech_request.", "bulletin.", "recall.")),
    Component("customer", "services.customer", 1, ("vehicle.delivered", "service_visit.closed", "prospect.",
                                                          "complaint.", "bulletin.overdue", "recall.vin_assigned")),
    Component("survey", "services.survey", 2, ("customer.", "vehicle.delivered", "service_visit.closed", "complaint.resolved")),
    Component("complaint", "services.complaint", 3, ("survey.alert.raised", "customer.erased",
                                                            "followup.issue_found", "improvement.action_done",
                                                            "survey.response.flagged", "survey.response.reviewed",
                                                            "vehicle.delivered", "service_visit.closed",
                                                            "service_visit.updated")),
    # Only what feeds a KPI: a 100,000-row customer import sends the KPI service nothing.
    Component("kpi", "services.kpi", 4, ("vehicle.delivered", "service_visit.closed", "followup.", "appointment.",
                                         "lifecycle.", "survey.response.", "survey.invitation.sent", "survey.alert.", "complaint.",
                                         "staff.", "recall.")),
)


def built_components() -> list[Component]:
    """A service not built yet is simply absent from the suite."""
    return [c for c in COMPONENTS if importlib.util.find_spec(c.module) is not None
            and importlib.util.find_spec(f"{c.module}.app") is not None]


# Replica r of a component listens at `port_base + REPLICA_PORT_STEP * r + offset` (issue 19).
REPLICA_PORT_STEP = 10


def port_of(component: Component, port_base: int, replica: int = 0) -> int:
    return port_base + REPLICA_PORT_STEP * replica + component.offset


def url_of(component: Component, port_base: int, host: str = "127.0.0.1", replica: int = 0) -> str:
    return f"http://{host}:{port_of(component, port_base, replica)}"


def urls_of(component: Component, port_base: int, replicas: int) -> str:
    """Every replica's base URL, comma-separated: how a URL setting names replicas (shared/replicas.py)."""
    return ",".join(url_of(component, port_base, replica=r) for r in range(replicas))


@dataclass(frozen=True)
class Instance:
    """One process of the suite: replica `replica` of `component`."""

    component: Component
    replica: int

    @property
    def name(self) -> str:
        """The component's name for the first replica (its log file and key), `name-r` for the others."""
        return self.component.name if self.replica == 0 else f"{self.component.name}-{self.replica}"


def database_url(component: Component, data_dir: Path, base: str | None = None) -> str:
    """PostgreSQL when `base` (default: CSLOOP_DATABASE_URL) names one, a database per service; else SQLite files."""
    base = base if base is not None else os.environ.get("CSLOOP_DATABASE_URL")
    if base and not is_sqlite(base):
        url = make_url(base)
        return url.set(database=f"{url.database}_{component.name}").render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{data_dir.resolve() / (component.name + '.db')}"


def subscriptions(components: list[Component], port_base: int) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for component in components:
        for prefix in component.consumes:
            table.setdefault(prefix, []).append(url_of(component, port_base))
    return table


SECRET_FILE = ".internal-secret"
WEBHOOK_KEY_FILE = ".webhook-secret-key"
INTEGRITY_SECRET_FILE = ".integrity-secret"


def internal_secret(data_dir: Path) -> str:
    """The secret every process signs internal tokens with: from the environment, or kept in the
    data dir (made on first use: only `csloop up` and the suite it starts call this)."""
    if secret := os.environ.get("CSLOOP_INTERNAL_SECRET"):
        return secret
    path = data_dir / SECRET_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def webhook_secret_keys(data_dir: Path) -> str:
    """The key the gateway seals webhook secrets with at rest: from the environment, or kept in
    the data dir beside the internal secret (made on first use), so a local suite never uses the
    key every checkout knows."""
    if keys := os.environ.get("CSLOOP_WEBHOOKS_SECRET_KEYS"):
        return keys
    path = data_dir / WEBHOOK_KEY_FILE
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def integrity_secret(data_dir: Path) -> str:
    """The key of the gateway's salted hashes of survey answerers' addresses and devices: from
    the environment, or kept in the data dir (made on first use), never the public development one."""
    if secret := os.environ.get("CSLOOP_INTEGRITY_SECRET"):
        return secret
    path = data_dir / INTEGRITY_SECRET_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def existing_internal_secret(data_dir: Path) -> str | None:
    """The running suite's secret, for a command that talks to its services directly; None when
    there is none. Never creates one: a new secret would sign tokens no running process accepts."""
    if secret := os.environ.get("CSLOOP_INTERNAL_SECRET"):
        return secret
    path = data_dir / SECRET_FILE
    return path.read_text().strip() if path.is_file() else None
