"""Tables the gateway owns: organisations, API keys, users, OAuth clients, webhooks.

Each row carries `org_path` (the org's own path for an org, the bound org's for a key or a
user), so one scope filter (shared.scope) serves all three.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.consumer import processed_events_table
from shared.db import TYPE_ANNOTATION_MAP, new_metadata, utcnow
from shared.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(40), ForeignKey("orgs.code"))
    region: Mapped[str | None] = mapped_column(String(100))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class _Credential:
    """What an API key and an OAuth client share: one org, a set of scopes, who made it, revocation."""

    name: Mapped[str] = mapped_column(String(200))
    org_code: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.code"))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Stamped by every write (revocation included): the delta feed (`?updated_since=`) reads it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(_Credential, Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # SHA-256 hex of the whole key: the key itself is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(40))


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    org_code: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.code"))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # The person's staff code at their dealer (customer service, API.md Staff): whose calls are
    # "today's" on the desk. Not checked against the customer service (see UserCreate).
    staff_code: Mapped[str | None] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The ETag of `PATCH /v1/users/{id}`.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class OrgNetwork(Base):
    """A dealer's own networks: a survey answered from one of them is flagged `dealer_network`.
    Set by an org above the dealer, never by the dealer itself (gateway/edge/networks.py)."""

    __tablename__ = "org_networks"

    org_code: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.code"), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    # Normalised CIDRs (`ipaddress.ip_network(...).compressed`), IPv4 and IPv6.
    cidrs: Mapped[list[str]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthClient(_Credential, Base):
    """A DMS system's OAuth2 client: its secret is hashed like an API key (256 random bits)."""

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_code: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.code"))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Exact types (`customer.created`) or families (`customer.`), as in the event subscriptions.
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # Sealed (Fernet, webhooks/sealing.py): opened only to sign. Shown in clear to the creator once.
    secret: Mapped[str] = mapped_column(String(300))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: the dispatcher's queue row and its attempt history."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # The delta feed of one subscription's deliveries pages on (updated_at, id).
        Index("ix_webhook_deliveries_subscription_updated", "subscription_id", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending -> delivered | failed (attempts exhausted) | cancelled (subscription disabled)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # [{attempt, status_code, error, at, duration_ms}], appended per attempt.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every status change and attempt stamps it (ORM and bulk updates alike, through onupdate).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


# Events the gateway consumed (for webhooks), each applied once (shared.consumer).
processed_events = processed_events_table(Base.metadata)

# Idempotency-Key of the gateway's own creates (gateway/identity/idempotency.py).
idempotency_keys = idempotency_table(Base.metadata)
