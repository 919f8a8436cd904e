"""The directory: homes' labels and addresses, residents, responders and who serves which home.

Every change is one transaction that also appends to the audit log (ids and field names,
never values); every read of personal data appends a ``read_personal_data`` entry in the
same transaction as the read, so that no read goes unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend._errors import BackendError
from backend.directory._audit import READ_PERSONAL_DATA, append_audit, list_audit
from backend.directory._model import (
    HomePatch,
    ResidentEntry,
    ResidentPatch,
    ResponderEntry,
    ResponderPatch,
    availability_to_doc,
    channel_to_doc,
)
from backend.directory._queries import (
    contacts_of,
    get_home_entry,
    get_resident,
    get_responder,
    home_health,
    list_home_entries,
    list_responders,
    residents_of,
    responder_tasks,
)
from backend.directory._rows import (
    AuditRow,
    ContactRow,
    HomeEntryRow,
    HomeHealthRow,
    ResidentRow,
    ResponderRow,
    ResponderTaskRow,
)
from backend.storage import HomeRow, Store, Transaction
from backend.storage._tables import dispatches, home_responders, homes, residents, responders

__all__ = [
    "ConflictError",
    "Directory",
    "DirectoryError",
    "HomeDetail",
    "NotFoundError",
    "responder_values",
]


class DirectoryError(BackendError):
    """A directory request cannot be done as asked (permanent: retrying will not help)."""


class NotFoundError(DirectoryError):
    """The home, resident or responder named does not exist."""


class ConflictError(DirectoryError):
    """The change clashes with what is stored (an id in use, dependants left)."""


@dataclass(frozen=True, slots=True)
class HomeDetail:
    """A home with its gateway state, residents and contacts in ladder order."""

    home: HomeRow
    label: str | None
    address: str | None
    community: str | None
    residents: list[ResidentRow]
    contacts: list[ContactRow]


def responder_values(entry: ResponderEntry) -> dict[str, Any]:
    """Return a responder's column values (without ``id`` and ``created_at``)."""
    return {
        "name": entry.name,
        "kind": entry.kind.value,
        "phone": entry.phone,
        "email": entry.email,
        "channels": [channel_to_doc(c) for c in entry.channels],
        "availability": availability_to_doc(entry.availability),
        "active": entry.active,
    }


def resident_values(entry: ResidentEntry) -> dict[str, Any]:
    """Return a resident's personal fields (without ``id``, ``home`` and ``created_at``)."""
    return entry.model_dump(exclude={"id"})


async def _insert_new(
    tx: Transaction, table: sa.Table, key: str, values: dict[str, Any], what: str
) -> None:
    """Insert a row by id, or raise ``ConflictError`` naming ``what`` if the id is taken."""
    stmt = (
        tx.insert(table)
        .values(id=key, **values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id)
    )
    if (await tx.conn.execute(stmt)).first() is None:
        raise ConflictError(f"{what} exists already")


def _home_row(r: sa.Row[Any]) -> HomeRow:
    return HomeRow(
        r.id, r.first_seen, r.gateway_online, r.last_status, r.last_status_at, r.sequence
    )


class Directory:
    """Reads and changes of the directory over one store; ``actor`` names who asks."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- reads -----------------------------------------------------------------

    async def list_homes(self, *, limit: int, offset: int) -> tuple[list[HomeEntryRow], int]:
        """Return homes in id order (the rows hold the address: do not show it in lists)."""
        async with self._store.reading() as conn:
            return await list_home_entries(conn, limit=limit, offset=offset)

    async def home_detail(self, home: str, *, actor: str, now: datetime) -> HomeDetail:
        """Return a home with its residents and contacts, recording the personal-data read."""
        async with self._store.transaction() as tx:
            row = (await tx.conn.execute(sa.select(homes).where(homes.c.id == home))).first()
            if row is None:
                raise NotFoundError(f"no home {home}")
            people = await residents_of(tx.conn, home)
            contacts = await contacts_of(tx.conn, home)
            subjects = [("resident", p.id) for p in people]
            if row.address is not None:
                subjects.insert(0, ("home", home))
            await append_audit(
                tx.conn,
                at=now,
                actor=actor,
                action=READ_PERSONAL_DATA,
                subjects=subjects,
                detail={"via": "home", "home": home},
            )
            return HomeDetail(
                _home_row(row), row.label, row.address, row.community, people, contacts
            )

    async def resident(self, resident_id: str, *, actor: str, now: datetime) -> ResidentRow:
        """Return one resident, recording the read."""
        async with self._store.transaction() as tx:
            row = await get_resident(tx.conn, resident_id)
            if row is None:
                raise NotFoundError(f"no resident {resident_id}")
            await append_audit(
                tx.conn,
                at=now,
                actor=actor,
                action=READ_PERSONAL_DATA,
                subjects=[("resident", resident_id)],
                detail={"via": "resident", "home": row.home},
            )
            return row

    async def contacts(self, home: str) -> list[ContactRow]:
        """Return a home's responders in ladder order (rank, then id)."""
        async with self._store.reading() as conn:
            return await contacts_of(conn, home)

    async def responder(self, responder_id: str) -> ResponderRow:
        """Return one responder."""
        async with self._store.reading() as conn:
            row = await get_responder(conn, responder_id)
        if row is None:
            raise NotFoundError(f"no responder {responder_id}")
        return row

    async def list_responders(
        self, *, kind: str | None, active: bool | None, limit: int, offset: int
    ) -> tuple[list[ResponderRow], int]:
        """Return responders in id order, and how many match."""
        async with self._store.reading() as conn:
            return await list_responders(conn, kind=kind, active=active, limit=limit, offset=offset)

    async def responder_tasks(
        self, *, responder: str | None, live: bool, limit: int, offset: int
    ) -> tuple[list[ResponderTaskRow], int]:
        """Return dispatches with their alerts, newest first, and how many match."""
        async with self._store.reading() as conn:
            return await responder_tasks(
                conn, responder=responder, live=live, limit=limit, offset=offset
            )

    async def home_health(self) -> list[HomeHealthRow]:
        """Return every home's gateway state and last status (no personal data)."""
        async with self._store.reading() as conn:
            return await home_health(conn)

    async def audit(
        self,
        *,
        subject_type: str | None,
        subject_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[AuditRow], int]:
        """Return audit entries, newest first, and how many match."""
        async with self._store.reading() as conn:
            return await list_audit(
                conn,
                subject_type=subject_type,
                subject_id=subject_id,
                limit=limit,
                offset=offset,
            )

    # -- homes -------------------------------------------------------------------

    async def create_home(
        self, home: str, patch: HomePatch, *, actor: str, now: datetime
    ) -> HomeEntryRow:
        """Add a home not yet known (not even from its gateway)."""
        async with self._store.transaction() as tx:
            values = {
                "first_seen": now,
                "label": patch.label,
                "address": patch.address,
                "community": patch.community,
            }
            await _insert_new(tx, homes, home, values, f"home {home}")
            await self._audit(tx, actor, now, "create_home", "home", home, patch.model_fields_set)
            created = await get_home_entry(tx.conn, home)
        assert created is not None
        return created

    async def update_home(
        self, home: str, patch: HomePatch, *, actor: str, now: datetime
    ) -> HomeEntryRow:
        """Change a home's label, address or community."""
        values = patch.model_dump(include=patch.model_fields_set)
        async with self._store.transaction() as tx:
            if await get_home_entry(tx.conn, home) is None:
                raise NotFoundError(f"no home {home}")
            if values:
                await tx.conn.execute(sa.update(homes).where(homes.c.id == home).values(**values))
            await self._audit(tx, actor, now, "update_home", "home", home, values)
            updated = await get_home_entry(tx.conn, home)
        assert updated is not None
        return updated

    async def delete_home(self, home: str, *, actor: str, now: datetime) -> None:
        """Remove a home that has no residents and no contacts left."""
        async with self._store.transaction() as tx:
            if await get_home_entry(tx.conn, home) is None:
                raise NotFoundError(f"no home {home}")
            left = []
            if await residents_of(tx.conn, home):
                left.append("residents")
            if await contacts_of(tx.conn, home):
                left.append("contacts")
            if left:
                raise ConflictError(
                    f"home {home} still has {' and '.join(left)}; remove them first"
                )
            await tx.conn.execute(sa.delete(homes).where(homes.c.id == home))
            await self._audit(tx, actor, now, "delete_home", "home", home, ())

    # -- residents ---------------------------------------------------------------

    async def create_resident(
        self, home: str, entry: ResidentEntry, *, actor: str, now: datetime
    ) -> ResidentRow:
        """Add a resident to a home."""
        async with self._store.transaction() as tx:
            if await get_home_entry(tx.conn, home) is None:
                raise NotFoundError(f"no home {home}")
            values = {"home": home, "created_at": now, **resident_values(entry)}
            await _insert_new(tx, residents, entry.id, values, f"resident {entry.id}")
            await self._audit(
                tx, actor, now, "create_resident", "resident", entry.id, entry.model_fields_set
            )
            created = await get_resident(tx.conn, entry.id)
        assert created is not None
        return created

    async def update_resident(
        self, resident_id: str, patch: ResidentPatch, *, actor: str, now: datetime
    ) -> ResidentRow:
        """Change a resident's fields, or move them to another home."""
        values = patch.model_dump(include=patch.model_fields_set)
        async with self._store.transaction() as tx:
            if await get_resident(tx.conn, resident_id) is None:
                raise NotFoundError(f"no resident {resident_id}")
            target = values.get("home")
            if target is not None and await get_home_entry(tx.conn, target) is None:
                raise NotFoundError(f"no home {target}")
            if values:
                await tx.conn.execute(
                    sa.update(residents).where(residents.c.id == resident_id).values(**values)
                )
            await self._audit(tx, actor, now, "update_resident", "resident", resident_id, values)
            updated = await get_resident(tx.conn, resident_id)
        assert updated is not None
        return updated

    async def delete_resident(self, resident_id: str, *, actor: str, now: datetime) -> None:
        """Remove a resident."""
        async with self._store.transaction() as tx:
            result = await tx.conn.execute(
                sa.delete(residents).where(residents.c.id == resident_id)
            )
            if not result.rowcount:
                raise NotFoundError(f"no resident {resident_id}")
            await self._audit(tx, actor, now, "delete_resident", "resident", resident_id, ())

    # -- responders --------------------------------------------------------------

    async def create_responder(
        self, entry: ResponderEntry, *, actor: str, now: datetime
    ) -> ResponderRow:
        """Add a responder."""
        async with self._store.transaction() as tx:
            values = {"created_at": now, **responder_values(entry)}
            await _insert_new(tx, responders, entry.id, values, f"responder {entry.id}")
            await self._audit(
                tx, actor, now, "create_responder", "responder", entry.id, entry.model_fields_set
            )
            created = await get_responder(tx.conn, entry.id)
        assert created is not None
        return created

    async def update_responder(
        self, responder_id: str, patch: ResponderPatch, *, actor: str, now: datetime
    ) -> ResponderRow:
        """Change a responder; a new ``channels`` list replaces the old one."""
        async with self._store.transaction() as tx:
            if await get_responder(tx.conn, responder_id) is None:
                raise NotFoundError(f"no responder {responder_id}")
            values: dict[str, Any] = patch.model_dump(
                include=patch.model_fields_set - {"channels", "availability"}, mode="json"
            )
            if patch.channels is not None:
                values["channels"] = [channel_to_doc(c) for c in patch.channels]
            if "availability" in patch.model_fields_set:
                values["availability"] = availability_to_doc(patch.availability)
            if values:
                await tx.conn.execute(
                    sa.update(responders).where(responders.c.id == responder_id).values(**values)
                )
            await self._audit(tx, actor, now, "update_responder", "responder", responder_id, values)
            updated = await get_responder(tx.conn, responder_id)
        assert updated is not None
        return updated

    async def delete_responder(self, responder_id: str, *, actor: str, now: datetime) -> None:
        """Remove a responder never dispatched, and their assignments to homes."""
        async with self._store.transaction() as tx:
            if await get_responder(tx.conn, responder_id) is None:
                raise NotFoundError(f"no responder {responder_id}")
            sent = await tx.conn.execute(
                sa.select(dispatches.c.id).where(dispatches.c.responder_id == responder_id).limit(1)
            )
            if sent.first() is not None:
                raise ConflictError(
                    f"responder {responder_id} has been dispatched and stays on record; "
                    "set active to false instead"
                )
            await tx.conn.execute(
                sa.delete(home_responders).where(home_responders.c.responder_id == responder_id)
            )
            await tx.conn.execute(sa.delete(responders).where(responders.c.id == responder_id))
            await self._audit(tx, actor, now, "delete_responder", "responder", responder_id, ())

    # -- contacts ----------------------------------------------------------------

    async def set_contact(
        self,
        home: str,
        responder_id: str,
        *,
        rank: int,
        relation: str | None,
        actor: str,
        now: datetime,
    ) -> tuple[ContactRow, bool]:
        """Assign a responder to a home, or change the assignment; tell whether it is new."""
        async with self._store.transaction() as tx:
            if await get_home_entry(tx.conn, home) is None:
                raise NotFoundError(f"no home {home}")
            if await get_responder(tx.conn, responder_id) is None:
                raise NotFoundError(f"no responder {responder_id}")
            where = sa.and_(
                home_responders.c.home == home, home_responders.c.responder_id == responder_id
            )
            updated = await tx.conn.execute(
                sa.update(home_responders).where(where).values(rank=rank, relation=relation)
            )
            created = not updated.rowcount
            if created:
                await tx.conn.execute(
                    sa.insert(home_responders).values(
                        home=home, responder_id=responder_id, rank=rank, relation=relation
                    )
                )
            await self._audit(
                tx, actor, now, "assign_contact", "home", home, (), responder=responder_id
            )
            contact = next(
                c for c in await contacts_of(tx.conn, home) if c.responder.id == responder_id
            )
        return contact, created

    async def remove_contact(
        self, home: str, responder_id: str, *, actor: str, now: datetime
    ) -> None:
        """Take a responder off a home."""
        async with self._store.transaction() as tx:
            result = await tx.conn.execute(
                sa.delete(home_responders).where(
                    home_responders.c.home == home, home_responders.c.responder_id == responder_id
                )
            )
            if not result.rowcount:
                raise NotFoundError(f"responder {responder_id} is not a contact of home {home}")
            await self._audit(
                tx, actor, now, "unassign_contact", "home", home, (), responder=responder_id
            )

    @staticmethod
    async def _audit(  # noqa: PLR0917 - a private helper called the same way each time
        tx: Transaction,
        actor: str,
        now: datetime,
        action: str,
        subject_type: str,
        subject_id: str,
        fields: Any,
        **ids: str,
    ) -> None:
        detail: dict[str, Any] = dict(ids)
        if fields:
            detail["fields"] = sorted(fields)
        await append_audit(
            tx.conn,
            at=now,
            actor=actor,
            action=action,
            subjects=[(subject_type, subject_id)],
            detail=detail or None,
        )
