"""Every SQL statement of bulletins and recalls (the quality loop going down the network).

`LoopRepository` is built for one principal. Bulletins and recalls are addressed to the orgs
below their owner, so those read them too (never write them): `readable` widens to the
ancestors for those two models, as the SLA policies do. Acknowledgements and affected VINs
belong to the dealer, so the sender above sees them by plain subtree scoping.
"""

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from services.complaint.models import TABLES, Bulletin, BulletinAck, BulletinReminder, QualitySignal, Recall, RecallVin, VehicleDealer
from shared.org_path import OrgPath
from shared.pagination import PageParams, keyset_page
from shared.scope import ScopedRepository, visible_to

# VINs per statement of an import: one read-model lookup and one multi-row insert each.
CHUNK = 5_000


def _chunks(items: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class LoopRepository(ScopedRepository):
    outbox = TABLES.outbox

    def readable(self, model: Any) -> ColumnElement[bool]:
        if model in (Bulletin, Recall):
            return or_(visible_to(model, self.principal), model.org_path.in_(self.principal.path.lineage))
        return visible_to(model, self.principal)

    def _insert(self, model: Any) -> Any:
        """INSERT with ON CONFLICT on both backends; each caller sets the row's org path."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        return dialect.insert(model)

    async def add(self, *rows: Any) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    # --- bulletins ------------------------------------------------------------------------------

    async def signal_visible(self, signal_id: uuid.UUID) -> bool:
        return await self.session.scalar(self.select(QualitySignal, QualitySignal.id)
                                         .where(QualitySignal.id == signal_id)) is not None

    async def bulletin(self, bulletin_id: uuid.UUID) -> Bulletin:
        return await self.get_visible(Bulletin, bulletin_id)

    async def bulletins(self, page: PageParams, unacknowledged_by: str | None) -> tuple[list[Bulletin], str | None]:
        statement = self.select(Bulletin)
        if unacknowledged_by is not None:
            statement = statement.where(~exists().where(BulletinAck.bulletin_id == Bulletin.id,
                                                        BulletinAck.dealer_code == unacknowledged_by))
        return await keyset_page(self.session, statement, Bulletin, page)

    async def acknowledged(self, bulletin_ids: list[uuid.UUID], dealer_code: str) -> set[uuid.UUID]:
        return set((await self.session.scalars(self.select(BulletinAck, BulletinAck.bulletin_id).where(
            BulletinAck.bulletin_id.in_(bulletin_ids), BulletinAck.dealer_code == dealer_code))).all())

    async def acks(self, bulletin_id: uuid.UUID) -> list[BulletinAck]:
        return list((await self.session.scalars(self.select(BulletinAck).where(
            BulletinAck.bulletin_id == bulletin_id).order_by(BulletinAck.acknowledged_at))).all())

    async def record_ack(self, values: dict[str, Any]) -> bool:
        """False when this dealer had already acknowledged the bulletin (the key makes it once)."""
        inserted = await self.session.scalar(self._insert(BulletinAck).values(**values).on_conflict_do_nothing(
            index_elements=["bulletin_id", "dealer_code"]).returning(BulletinAck.dealer_code))
        return inserted is not None

    async def reminder_candidates(self, published_before: datetime, published_after: datetime) -> list[Bulletin]:
        return list((await self.session.scalars(self.select(Bulletin).where(
            Bulletin.created_at <= published_before, Bulletin.created_at > published_after)
            .order_by(Bulletin.created_at))).all())

    async def settled_dealers(self, bulletin_id: uuid.UUID) -> set[str]:
        """The dealers that acknowledged the bulletin or were already reminded of it."""
        acked = self.select(BulletinAck, BulletinAck.dealer_code).where(BulletinAck.bulletin_id == bulletin_id)
        reminded = self.select(BulletinReminder, BulletinReminder.dealer_code).where(
            BulletinReminder.bulletin_id == bulletin_id)
        return set((await self.session.scalars(acked.union(reminded))).all())

    async def record_reminder(self, values: dict[str, Any]) -> bool:
        """False when another pass or replica reminded this dealer first."""
        inserted = await self.session.scalar(self._insert(BulletinReminder).values(**values).on_conflict_do_nothing(
            index_elements=["bulletin_id", "dealer_code"]).returning(BulletinReminder.dealer_code))
        return inserted is not None

    # --- recalls --------------------------------------------------------------------------------

    async def recall(self, code: str) -> Recall:
        return await self.get_visible(Recall, code, key=Recall.code, missing=f"No recall {code}")

    async def recall_code_taken(self, code: str) -> bool:
        """Recall codes are unique across the network: a manufacturer's check sees every recall anyway,
        and this keeps the answer a 409 rather than a failed insert."""
        return await self.session.scalar(select(Recall.id).where(Recall.code == code)) is not None

    async def lock_vin_owners(self, *, exclusive: bool) -> None:
        """Serialise a recall's VIN lookup with the deliveries and visits that name a VIN's dealer.
        Under READ COMMITTED, an import reading `vehicle_dealers` while a delivery commits, and that
        delivery's reassign running before the import's VINs commit, each miss the other: the VIN
        stays with no dealer for good. Imports take the lock exclusively (a 100,000-VIN import holds
        the consumers back for its seconds), the consumers shared (they never wait for each other).
        SQLite has one writer at a time: nothing to do there."""
        if self.session.bind.dialect.name == "postgresql":
            take = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            await self.session.execute(text(f"SELECT {take}(hashtext('csloop.recall_vin_owners'))"))

    async def add_vins(self, recall: Recall, vins: list[str], now: datetime) -> dict[tuple[str | None, str], list[str]]:
        """Insert the affected VINs not yet in the recall, each owned by its responsible dealer,
        chunk by chunk (one lookup and one multi-row insert per chunk); returns the VINs added
        per (dealer_code, org_path). The read model holds every dealer's vehicles, so the lookup
        reads across the tree: the manufacturer importing owns every recall VIN anyway."""
        added: dict[tuple[str | None, str], list[str]] = {}
        for chunk in _chunks(vins):
            found = {row.vin: row for row in (await self.session.execute(select(
                VehicleDealer.vin, func.coalesce(VehicleDealer.selling_dealer_code, VehicleDealer.servicing_dealer_code)
                .label("dealer_code"),
                func.coalesce(VehicleDealer.selling_org_path, VehicleDealer.servicing_org_path).label("org_path"))
                .where(VehicleDealer.vin.in_(chunk))))}
            rows = [{"recall_id": recall.id, "vin": vin, "added_at": now,
                     "dealer_code": found[vin].dealer_code if vin in found else None,
                     "org_path": found[vin].org_path if vin in found else recall.org_path} for vin in chunk]
            # executemany of one compiled statement (batched into multi-row INSERTs by SQLAlchemy's
            # insertmanyvalues): compiling a 5,000-row VALUES statement per chunk cost more than the insert.
            table = RecallVin.__table__
            inserted = await self.session.execute(
                self._insert(table).on_conflict_do_nothing(index_elements=["recall_id", "vin"])
                .returning(table.c.vin, table.c.dealer_code, table.c.org_path), rows)
            for vin, dealer_code, org_path in inserted:
                added.setdefault((dealer_code, org_path), []).append(vin)
        return added

    async def recalls(self, page: PageParams, under: OrgPath) -> tuple[list[Recall], str | None]:
        """The recalls `under` (an org of the caller's subtree) issued or that list a VIN of its subtree,
        oldest first."""
        touches = exists().where(RecallVin.recall_id == Recall.id,
                                 RecallVin.org_path.startswith(under.prefix, autoescape=True))
        statement = self.select(Recall).where(or_(Recall.org_path.startswith(under.prefix, autoescape=True), touches))
        return await keyset_page(self.session, statement, Recall, page)

    async def subtree_counts(self, recall_ids: list[uuid.UUID], under: OrgPath) -> dict[uuid.UUID, tuple[int, int]]:
        """(affected, completed) VINs of each recall within `under`'s subtree (and the caller's)."""
        rows = await self.session.execute(self.select(
            RecallVin, RecallVin.recall_id, func.count(), func.count(RecallVin.completed_at))
            .where(RecallVin.recall_id.in_(recall_ids), RecallVin.org_path.startswith(under.prefix, autoescape=True))
            .group_by(RecallVin.recall_id))
        return {recall_id: (affected, completed) for recall_id, affected, completed in rows}

    async def progress(self, recall_id: uuid.UUID, under: OrgPath) -> list[tuple[str | None, int, int]]:
        """(dealer_code, affected, completed) per dealer under `under`, within the caller's subtree."""
        rows = await self.session.execute(self.select(
            RecallVin, RecallVin.dealer_code, func.count(), func.count(RecallVin.completed_at))
            .where(RecallVin.recall_id == recall_id, RecallVin.org_path.startswith(under.prefix, autoescape=True))
            .group_by(RecallVin.dealer_code).order_by(RecallVin.dealer_code))
        return [(dealer_code, affected, completed) for dealer_code, affected, completed in rows]

    # --- what a KPI rebuild replays (the system principal) -----------------------------------------

    async def recalls_page(self, page: PageParams) -> tuple[list[Recall], str | None]:
        return await keyset_page(self.session, self.select(Recall), Recall, page)

    async def recall_items(self, recall_ids: list[uuid.UUID]) -> list[RecallVin]:
        """Every affected VIN of the recalls, those added together to one dealer next to each other."""
        return list((await self.session.scalars(self.select(RecallVin).where(RecallVin.recall_id.in_(recall_ids))
                                                .order_by(RecallVin.recall_id, RecallVin.added_at, RecallVin.dealer_code,
                                                          RecallVin.org_path, RecallVin.vin))).all())

    # --- what the customer service's events tell (the system principal's consumer) ----------------

    async def note_delivery(self, vin: str, dealer_code: str, org_path: str) -> None:
        """The read model row of a VIN, for every dealer's vehicles: a consumer's write across the tree."""
        statement = self._insert(VehicleDealer).values(vin=vin, selling_dealer_code=dealer_code, selling_org_path=org_path)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["vin"], set_={"selling_dealer_code": dealer_code, "selling_org_path": org_path}))

    async def note_service(self, vin: str, dealer_code: str, org_path: str, at: datetime) -> None:
        """The last servicing dealer of a VIN (an older visit arriving late changes nothing): a
        consumer's write across the tree."""
        statement = self._insert(VehicleDealer).values(vin=vin, servicing_dealer_code=dealer_code,
                                                       servicing_org_path=org_path, serviced_at=at)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["vin"], set_={"servicing_dealer_code": dealer_code, "servicing_org_path": org_path,
                                          "serviced_at": at},
            where=or_(VehicleDealer.serviced_at.is_(None), VehicleDealer.serviced_at < at)))

    async def responsible(self, vin: str) -> tuple[str, str] | None:
        """The VIN's responsible dealer from the read model (selling, else last servicing): the
        consumer reads across the tree."""
        row = (await self.session.execute(select(
            func.coalesce(VehicleDealer.selling_dealer_code, VehicleDealer.servicing_dealer_code),
            func.coalesce(VehicleDealer.selling_org_path, VehicleDealer.servicing_org_path))
            .where(VehicleDealer.vin == vin))).first()
        return (row[0], row[1]) if row and row[0] else None

    async def reassign(self, vin: str, dealer_code: str, org_path: str) -> list[Recall]:
        """Give the VIN's open recall items to its responsible dealer; the recalls whose item moved.
        A consumer's write: the item may move between any two dealers."""
        moved = (await self.session.scalars(update(RecallVin).where(
            RecallVin.vin == vin, RecallVin.completed_at.is_(None),
            or_(RecallVin.dealer_code.is_(None), RecallVin.dealer_code != dealer_code))
            .values(dealer_code=dealer_code, org_path=org_path).returning(RecallVin.recall_id))).all()
        if not moved:
            return []
        return list((await self.session.scalars(select(Recall).where(Recall.id.in_(moved)))).all())

    async def complete(self, vin: str, op_codes: list[str], ro_number: str, at: datetime) -> list[tuple[Recall, RecallVin]]:
        """Mark the VIN's open items of the recalls whose remedy the visit performed: a consumer's
        write for whichever dealer the item belongs to."""
        recalls = {recall.id: recall for recall in (await self.session.scalars(select(Recall).where(
            Recall.remedy_op_code.in_(op_codes),
            exists().where(RecallVin.recall_id == Recall.id, RecallVin.vin == vin,
                           RecallVin.completed_at.is_(None))))).all()}
        if not recalls:
            return []
        items = (await self.session.scalars(update(RecallVin).where(
            RecallVin.vin == vin, RecallVin.recall_id.in_(list(recalls)), RecallVin.completed_at.is_(None))
            .values(completed_at=at, completed_ro=ro_number).returning(RecallVin))).all()
        return [(recalls[item.recall_id], item) for item in items]
