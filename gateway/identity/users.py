"""Users: argon2id passwords, bound to one org; login turns a password into a principal."""

import asyncio
import statistics
import time
import uuid
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.identity.login_throttle import LoginThrottle
from gateway.models import User
from gateway.identity.orgs import named_org, principal_of_org
from gateway.repository import OrgRepository, UserRepository
from gateway.schemas import LoginRequest, UserCreate, UserUpdate
from gateway.identity.scopes import check_grant
from shared.auth import Principal
from shared.etag import check_version
from shared.problems import Conflict, Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


class VerificationTimer:
    """How long a password verification takes here: the median of the recent ones.

    An unknown (or disabled) username waits that long instead of verifying a dummy hash, so
    its answer comes as late as a wrong password's (no timing oracle) and costs no CPU.
    """

    def __init__(self, first_seconds: float, window: int = 31) -> None:
        self._recent: deque[float] = deque([first_seconds], maxlen=window)

    def record(self, seconds: float) -> None:
        self._recent.append(seconds)

    def median(self) -> float:
        return statistics.median(self._recent)

    async def wait(self) -> None:
        await asyncio.sleep(self.median())


def _first_measurement() -> float:
    """One verification at start, so the first unknown username already waits the right time."""
    password_hash = _hasher.hash("csloop-timing-sample")
    started = time.perf_counter()
    _hasher.verify(password_hash, "csloop-timing-sample")
    return time.perf_counter() - started


_timer = VerificationTimer(_first_measurement())


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow (tens of ms): keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    started = time.perf_counter()
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _timer.record(time.perf_counter() - started)


async def create_user(orgs: OrgRepository, users: UserRepository, data: UserCreate) -> User:
    org = await named_org(orgs, data.org_code)
    scopes = check_grant(data.scopes, users.principal.scopes)
    if await users.username_taken(data.username):
        raise Conflict(f"The username '{data.username}' is taken", errors=[{"field": "username", "message": "already exists"}])
    return await users.add(User(
        username=data.username, password_hash=await hash_password(data.password), org_code=org.code,
        org_path=org.org_path, roles=sorted(set(data.roles)), scopes=scopes, staff_code=data.staff_code, version=1,
    ))


async def update_user(users: UserRepository, user_id: uuid.UUID, data: UserUpdate, if_match: str | None) -> User:
    """Link a user of the caller's subtree to their staff code (another tree's user is a 404)."""
    user = await users.get_visible(User, user_id, missing=f"No user {user_id}")
    check_version(if_match, user.version)
    if user.staff_code != data.staff_code:
        user.staff_code = data.staff_code
        user.version += 1
        await users.flush()
    return user


async def login(users: UserRepository, data: LoginRequest, throttle: LoginThrottle,
                address: str) -> tuple[Principal, User]:
    """The principal and the user signed in. `users` must be built for the system principal: the
    caller is not known yet."""
    await throttle.check(data.username, address)
    try:
        return await _check_password(users, data)
    except Unauthorized:
        await throttle.failed(data.username, address)
        raise


async def _check_password(users: UserRepository, data: LoginRequest) -> tuple[Principal, User]:
    found = await users.by_username(data.username)
    if found is None or found[0].disabled:
        await _timer.wait()
        raise Unauthorized("Wrong username or password")
    user, org = found
    if not await _verify(user.password_hash, data.password):
        raise Unauthorized("Wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(data.password)
    return principal_of_org(org, f"user:{user.username}", tuple(user.roles), frozenset(user.scopes)), user
