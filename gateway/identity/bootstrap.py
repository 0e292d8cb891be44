"""The first manufacturer and its admin key, for `csloop admin bootstrap` (runs once per tree)."""

from pathlib import Path

import gateway
from gateway.identity.keys import issue_key
from gateway.models import Org
from gateway.repository import ApiKeyRepository, OrgRepository
from gateway.identity.scopes import ALL_SCOPES
from shared.auth import system_principal
from shared.db import create_engine, session_factory
from shared.migration_process import upgrade
from shared.org_path import OrgPath
from shared.problems import Conflict
from shared.types import validate_org_code

# Found from the package, not this module, so the module may live in any of its sub-packages.
MIGRATIONS = Path(gateway.__file__).parent / "migrations"


class BootstrapRefused(Conflict):
    """The manufacturer exists already (or the code is invalid): bootstrap changes nothing."""


async def bootstrap(database_url: str, code: str, name: str) -> dict[str, str]:
    try:
        code = validate_org_code(code)
    except ValueError as exc:
        raise BootstrapRefused(str(exc)) from exc
    if not name.strip():
        raise BootstrapRefused("The manufacturer needs a name")
    await upgrade(database_url, MIGRATIONS, in_child=False)  # a short-lived command: its own process
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            orgs = OrgRepository(session, system_principal())
            if await orgs.code_taken(code):
                raise BootstrapRefused(f"The organisation '{code}' exists already; bootstrap runs once")
            org = await orgs.add(Org(code=code, name=name.strip(), kind="manufacturer", parent_code=None,
                                     region=None, org_path=OrgPath.root().child(code)))
            _, api_key = await issue_key(ApiKeyRepository(session, system_principal()), org,
                                         "bootstrap admin", sorted(ALL_SCOPES))
            await session.commit()
    finally:
        await engine.dispose()
    return {"org_code": code, "api_key": api_key}
