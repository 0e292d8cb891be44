"""Every SQL statement of the gateway. Repositories are built for one principal and filter by
its subtree; lookups that must see the whole tree (login, key check, code uniqueness) are
done with `shared.auth.system_principal()`, so they say so where they are called.
"""

from datetime import datetime

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiKey, OAuthClient, Org, OrgNetwork, User, idempotency_keys
from shared.db import utcnow
from shared.pagination import PageParams, list_page
from shared.scope import ScopedRepository


class OrgRepository(ScopedRepository):
    async def get(self, code: str) -> Org | None:
        return await self.session.scalar(self.select(Org).where(Org.code == code))

    async def page(self, params: PageParams, updated_since: datetime | None = None) -> tuple[list[Org], str | None]:
        return await list_page(self.session, self.select(Org), Org, params, updated_since)

    async def subtree(self, path: str, limit: int) -> list[Org]:
        """The visible orgs at or below `path`, parents first."""
        statement = self.select(Org).where(Org.org_path.startswith(path, autoescape=True))
        return list((await self.session.scalars(statement.order_by(Org.org_path).limit(limit))).all())

    async def code_taken(self, code: str) -> bool:
        """Codes are unique across the whole tree, whoever asks: reads past the caller's subtree."""
        return await self.session.scalar(select(Org.id).where(Org.code == code)) is not None

    async def add(self, org: Org) -> Org:
        self.session.add(org)
        await self.session.flush()
        return org


class OrgNetworkRepository(ScopedRepository):
    async def get(self, code: str) -> OrgNetwork | None:
        return await self.session.scalar(self.select(OrgNetwork).where(OrgNetwork.org_code == code))

    async def put(self, org: Org, cidrs: list[str], subject: str) -> OrgNetwork:
        row = await self.get(org.code)
        if row is None:
            row = OrgNetwork(org_code=org.code, org_path=org.org_path, cidrs=cidrs, updated_by=subject)
            self.session.add(row)
        else:
            row.cidrs, row.updated_by = cidrs, subject
        await self.session.flush()
        return row

    async def every_network(self) -> list[tuple[str, list[str]]]:
        """(org code, CIDRs) of every org with networks: the gateway's index for the
        `dealer_network` flag, asked as the system principal (a survey may be any dealer's)."""
        statement = self.select(OrgNetwork, OrgNetwork.org_code, OrgNetwork.cidrs)
        return [(code, list(cidrs)) for code, cidrs in (await self.session.execute(statement)).all()]


class ApiKeyRepository(ScopedRepository):
    async def active_by_hash(self, key_hash: str) -> tuple[ApiKey, Org] | None:
        """The key check: asked as the system principal (the whole tree), since a key may be any org's."""
        statement = (
            self.select(ApiKey, ApiKey, Org)
            .join(Org, Org.code == ApiKey.org_code)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    async def page(self, params: PageParams, updated_since: datetime | None = None) -> tuple[list[ApiKey], str | None]:
        return await list_page(self.session, self.select(ApiKey), ApiKey, params, updated_since)

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key


class UserRepository(ScopedRepository):
    async def by_username(self, username: str) -> tuple[User, Org] | None:
        """The login: asked as the system principal (the whole tree), since a user may be any org's."""
        statement = self.select(User, User, Org).join(Org, Org.code == User.org_code).where(User.username == username)
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    async def username_taken(self, username: str) -> bool:
        """Usernames are unique across the whole tree, whoever asks: reads past the caller's subtree."""
        return await self.session.scalar(select(User.id).where(User.username == username)) is not None

    async def page(self, params: PageParams, updated_since: datetime | None = None) -> tuple[list[User], str | None]:
        return await list_page(self.session, self.select(User), User, params, updated_since)

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user


class OAuthClientRepository(ScopedRepository):
    async def page(self, params: PageParams, updated_since: datetime | None = None) -> tuple[list[OAuthClient], str | None]:
        return await list_page(self.session, self.select(OAuthClient), OAuthClient, params, updated_since)

    async def active_created_by(self, subject: str) -> list[OAuthClient]:
        statement = self.select(OAuthClient).where(OAuthClient.created_by == subject, OAuthClient.revoked_at.is_(None))
        return list((await self.session.scalars(statement)).all())

    async def active_by_client_id(self, client_id: str) -> tuple[OAuthClient, Org] | None:
        """The token endpoint and the client check: asked as the system principal (the whole tree),
        since a client may be any org's."""
        statement = (
            self.select(OAuthClient, OAuthClient, Org)
            .join(Org, Org.code == OAuthClient.org_code)
            .where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    async def add(self, client: OAuthClient) -> OAuthClient:
        self.session.add(client)
        await self.session.flush()
        return client


class IdempotencyRecords:
    """The Idempotency-Key rows of the gateway's creates. A row's key hashes the caller's subject
    (shared.idempotency.caller_scoped_key), so a caller only ever finds its own: no org path.

    Used inside the request's transaction: the claim and the answer commit with the record
    created, or roll back with it (a crash leaves neither)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stored(self, scope_key: str) -> RowMapping | None:
        statement = select(idempotency_keys).where(idempotency_keys.c.scope_key == scope_key)
        return (await self.session.execute(statement)).mappings().first()

    async def claim(self, scope_key: str, fingerprint: str) -> bool:
        """False when another request holds the key (the transaction is then spoilt: roll it
        back). A claim not committed yet makes this wait for its transaction to end."""
        try:
            await self.session.execute(insert(idempotency_keys).values(
                scope_key=scope_key, fingerprint=fingerprint, created_at=utcnow()))
        except IntegrityError:
            return False
        return True

    async def hold(self, scope_key: str, status: int, headers: dict[str, str], body: bytes) -> None:
        await self.session.execute(update(idempotency_keys).where(idempotency_keys.c.scope_key == scope_key)
                                   .values(status=status, headers=headers, body=body))
