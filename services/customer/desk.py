"""A dealer's desk settings (API.md "Follow-up desk"): who gets new tasks of each kind, whether
maintenance visits get a service follow-up, how many unanswered attempts end a task.

One row per dealer, made by the first PUT. Until then the defaults apply and the settings read
as version 0: a first PUT may send `If-Match: "v0"` or nothing; once a row exists, a PUT
needs the ETag it read (428 without, 412 when stale), like every other update.
"""

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from services.customer.models import DeskSettings
from services.customer.repository import CustomerRepository
from services.customer.schemas import DeskSettingsRead, DeskSettingsWrite
from services.customer.staff import require_staff_code
from shared.db import utcnow
from shared.etag import check_version, expected_version
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import PreconditionFailed

DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class DeskDefaults:
    """What a new task of a dealer takes from the settings (or the defaults when unset)."""

    default_assignees: dict[str, str] = field(default_factory=dict)
    maintenance_followups: bool = False
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


class DeskDirectory:
    """The desk settings of the dealers one piece of work touches, each read once (a holiday
    pass schedules tasks for thousands of customers of a few dealers)."""

    def __init__(self, repo: CustomerRepository) -> None:
        self._repo = repo
        self._known: dict[str, DeskDefaults] = {}
        self._active: dict[tuple[str, str], bool] = {}

    async def load(self, dealer_codes: set[str], kind: str) -> None:
        """Read at once what tasks of `kind` for these dealers will ask (a job's page of thousands of
        tasks touches hundreds of dealers): their settings, then whether each default assignee
        of the kind is active. Two queries instead of up to two per dealer."""
        missing = dealer_codes - self._known.keys()
        rows = {row.dealer_code: row for row in await self._repo.desk_settings_of(missing)}
        for code in missing:
            self._known[code] = _defaults(rows.get(code))
        pairs = {(code, assignee) for code in dealer_codes
                 if (assignee := self._known[code].default_assignees.get(kind)) is not None} - self._active.keys()
        active = await self._repo.active_staff_pairs(pairs)
        self._active |= {pair: pair in active for pair in pairs}

    async def of(self, dealer_code: str) -> DeskDefaults:
        if dealer_code not in self._known:
            self._known[dealer_code] = _defaults(await self._repo.desk_settings(dealer_code))
        return self._known[dealer_code]

    async def default_assignee(self, dealer_code: str, kind: str, wanted: str | None = None) -> str | None:
        """`wanted`, else the kind's default assignee, if that staff member is still active: a
        code retired since it was set takes no new work, and the task stays unassigned."""
        code = wanted or (await self.of(dealer_code)).default_assignees.get(kind)
        if code is None:
            return None
        if (dealer_code, code) not in self._active:
            self._active[(dealer_code, code)] = await self._repo.active_staff(dealer_code, code) is not None
        return code if self._active[(dealer_code, code)] else None


def _defaults(row: DeskSettings | None) -> DeskDefaults:
    return DeskDefaults() if row is None else DeskDefaults(
        dict(row.default_assignees or {}), row.maintenance_followups, row.max_attempts)


async def _dealer(repo: CustomerRepository, directory: OrgDirectory, code: str) -> OrgInfo:
    # The dealer is the path's record: outside the caller's subtree it is a 404, like an unknown path.
    return await directory.dealer_for(repo.principal, code, field="code", in_query=True)


async def read_settings(repo: CustomerRepository, directory: OrgDirectory, code: str) -> DeskSettingsRead:
    dealer = await _dealer(repo, directory, code)
    return shown(dealer.code, await repo.desk_settings(dealer.code))


async def put_settings(repo: CustomerRepository, directory: OrgDirectory, code: str, data: DeskSettingsWrite,
                       if_match: str | None) -> DeskSettingsRead:
    dealer = await _dealer(repo, directory, code)
    row = await repo.desk_settings(dealer.code)
    if row is not None:
        check_version(if_match, row.version)
    elif if_match is not None and expected_version(if_match) != 0:
        raise PreconditionFailed("The settings changed since you read them; read them again", headers={"ETag": '"v0"'})
    for kind, staff_code in data.default_assignees.items():
        await require_staff_code(repo, dealer.code, f"default_assignees.{kind}", staff_code)
    now = utcnow()
    if row is None:
        row = DeskSettings(dealer_code=dealer.code, org_path=dealer.path, version=1, created_at=now, updated_at=now,
                           **data.model_dump())
        try:
            await repo.add(row)
        except IntegrityError as exc:  # another first PUT won the race: this one was based on v0
            raise PreconditionFailed("The settings changed since you read them; read them again") from exc
    else:
        for name, value in data.model_dump().items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = now
        await repo.flush()
    return shown(dealer.code, row)


def shown(dealer_code: str, row: DeskSettings | None) -> DeskSettingsRead:
    if row is None:
        defaults = DeskDefaults()
        return DeskSettingsRead(dealer_code=dealer_code, default_assignees=defaults.default_assignees,
                                maintenance_followups=defaults.maintenance_followups,
                                max_attempts=defaults.max_attempts, version=0, updated_at=None)
    return DeskSettingsRead(dealer_code=row.dealer_code, default_assignees=dict(row.default_assignees or {}),
                            maintenance_followups=row.maintenance_followups, max_attempts=row.max_attempts,
                            version=row.version, updated_at=row.updated_at)
