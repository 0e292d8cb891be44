"""Request and response bodies of the gateway's own endpoints."""

import ipaddress
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.types import OrgCode

OrgKind = Literal["manufacturer", "distributor", "dealer"]
# As the customer service's staff codes (services/customer/schemas.py StaffCode).
StaffCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                             pattern=r"^[^\x00-\x1f\x7f]+$")]


class OrgCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "D001", "name": "Shanghai Pudong Dealer", "kind": "dealer", "parent_code": "EAST",
        "region": "East"
    }]})

    code: OrgCode
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    parent_code: OrgCode
    region: str | None = Field(default=None, max_length=100)


# The broadest network a dealer may call its own: wider blocks are an internet provider's, and
# would flag every customer of that provider as answering from the showroom.
WIDEST_PREFIX = {4: 16, 6: 48}


def _network(value: str) -> str:
    if "%" in value:  # an IPv6 zone names a local interface: no customer's address carries one
        raise ValueError("not a network in CIDR notation: no zone (`%...`) allowed")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a network in CIDR notation (e.g. 203.0.113.0/24, 2001:db8:5::/48): {exc}") from None
    if network.prefixlen < WIDEST_PREFIX[network.version]:
        raise ValueError(f"an IPv{network.version} network of a dealer is /{WIDEST_PREFIX[network.version]} or narrower")
    return network.compressed


Cidr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(_network)]


class OrgNetworksWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "cidrs": ["203.0.113.0/28", "2001:db8:5::/48"]}]})

    cidrs: list[Cidr] = Field(max_length=50, description=(
        "The dealer's own networks (IPv4 or IPv6, CIDR; a bare address is one host). Replaces the "
        "list; empty clears it. A survey answered from one of them is flagged `dealer_network`."))


class OrgNetworksRead(BaseModel):
    org_code: str
    cidrs: list[str] = Field(description="Normalised, in the order given, duplicates dropped")
    updated_by: str | None = Field(description="Who last set them; null: never set")
    updated_at: datetime | None


class OrgRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: OrgKind
    parent_code: str | None
    region: str | None
    path: str = Field(validation_alias="org_path")
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "org_code": "D001", "name": "DMS nightly sync", "scopes": ["customers:read", "customers:write"]
    }]})

    org_code: OrgCode
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1)


class ApiKeyCreated(BaseModel):
    id: uuid.UUID
    key: str = Field(description="Shown once; only its hash is stored")
    org_code: str
    name: str
    scopes: list[str]


class ApiKeyRead(BaseModel):
    """An API key as its admins see it: never the key, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    org_code: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart (csk_...)")
    scopes: list[str]
    created_by: str = Field(description="The key or user that issued it")
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")
    revoked_at: datetime | None = Field(description="Set once revoked: refused from then on")


class UserCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "username": "li.wei", "password": "correct-horse-battery", "org_code": "D001",
        "roles": ["service_manager"], "scopes": ["complaints:read", "complaints:write"], "staff_code": "CR01"
    }]})

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=10, max_length=200)
    org_code: OrgCode
    roles: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    # Kept as given: the gateway does not ask the customer service whether the code exists (the
    # staff row may come later, or be retired and replaced); a wrong one only shows no calls.
    staff_code: StaffCode | None = Field(None, description=(
        "The user's staff code at their dealer (`/v1/staff`): the desk shows this person's calls"))


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    org_code: str
    roles: list[str]
    scopes: list[str]
    staff_code: str | None = None
    disabled: bool = False
    version: int
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"staff_code": "CR01"}]})

    staff_code: StaffCode | None = Field(description="The user's staff code at their dealer; null clears it")


class LoginRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "username": "li.wei", "password": "correct-horse-battery"
    }]})

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class OAuthClientCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "org_code": "D001", "name": "DMS", "scopes": ["customers:read", "customers:write"]
    }]})

    org_code: OrgCode
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1)


class OAuthClientCreated(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown once; only its hash is stored")
    org_code: str
    name: str
    scopes: list[str]


class OAuthClientRead(BaseModel):
    """An OAuth client as its admins see it: never its secret (only the hash is stored)."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    org_code: str
    name: str
    scopes: list[str]
    created_by: str = Field(description="The key, user or client that registered it")
    created_at: datetime
    updated_at: datetime = Field(description="Last change; the `updated_since` feed of the list orders by it")
    revoked_at: datetime | None = Field(description="Set once revoked: its tokens stop working within 30 s")


class LoginToken(AccessToken):
    """A user's access token, with who signed in (the desk page shows their calls by `staff_code`)."""

    username: str
    org_code: str
    staff_code: str | None = Field(description="The user's staff code at their dealer, if they have one")


class OAuthToken(AccessToken):
    scope: str = Field(description="The granted scopes, space-separated (RFC 6749 5.1)")


class OAuthTokenError(BaseModel):
    """RFC 6749 5.2's error body, which OAuth2 client libraries parse (the token endpoint's only)."""

    error: Literal["invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"]
    error_description: str


# The token endpoint reads its form itself (RFC 6749 4.4.2); this is that form.
OAUTH_TOKEN_FORM = {
    "type": "object", "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string", "description": "Or send the client id and secret with HTTP Basic"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string", "description": "Space-separated; a subset of the client's scopes"},
    },
    "examples": [{"grant_type": "client_credentials", "client_id": "dms-ab12", "client_secret": "cs_...",
                  "scope": "customers:read customers:write"}],
}
