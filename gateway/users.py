"""Users: argon2id passwords, bound to one org; login turns a password into a principal."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.models import User
from gateway.orgs import principal_of_org, visible_org
from gateway.repository import OrgRepository, UserRepository
from gateway.schemas import LoginRequest, UserCreate
from gateway.scopes import check_grant
from shared.auth import Principal
from shared.problems import Conflict, Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults
# Verified when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("csloop-no-such-user")


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow (tens of ms): keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(orgs: OrgRepository, users: UserRepository, data: UserCreate) -> User:
    org = await visible_org(orgs, data.org_code)
    scopes = check_grant(data.scopes, users.principal.scopes)
    if await users.username_taken(data.username):
        raise Conflict(f"The username '{data.username}' is taken", errors=[{"field": "username", "message": "already exists"}])
    return await users.add(User(
        username=data.username, password_hash=await hash_password(data.password), org_code=org.code,
        org_path=org.org_path, roles=sorted(set(data.roles)), scopes=scopes,
    ))


async def login(users: UserRepository, data: LoginRequest) -> Principal:
    """`users` must be built for the system principal: the caller is not known yet."""
    found = await users.by_username(data.username)
    if found is None:
        await _verify(_DUMMY_HASH, data.password)
        raise Unauthorized("Wrong username or password")
    user, org = found
    if user.disabled or not await _verify(user.password_hash, data.password):
        raise Unauthorized("Wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(data.password)
    return principal_of_org(org, f"user:{user.username}", tuple(user.roles), frozenset(user.scopes))
