"""Accounts in the database, on SQLite and PostgreSQL: creation, changes, and their audit."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from backend.auth import (
    LastAdminError,
    LoginFailedError,
    Passwords,
    PolicyError,
    Role,
    UnknownUserError,
    UserChange,
    UserExistsError,
    Users,
)
from backend.storage import Store
from backend.storage._tables import audit_log

PASSWORD = "zebra-quilt-47-ochre"

pytestmark = pytest.mark.timeout(60)


async def audit(store: Store) -> list[dict[str, Any]]:
    async with store.reading() as conn:
        rows = (await conn.execute(sa.select(audit_log).order_by(audit_log.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def test_a_user_is_stored_with_an_argon2id_hash_and_audited(users: Users) -> None:
    row = await users.create("root", username="alice", password=PASSWORD, role=Role.SUPERVISOR)
    stored = await users.get("alice")
    assert stored == row
    assert stored.active
    assert stored.display_name == "alice"
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert (await users.passwords.verify(stored.password_hash, PASSWORD))[0]
    assert not (await users.passwords.verify(stored.password_hash, PASSWORD + "x"))[0]
    [entry] = await audit(users.store)
    assert (entry["actor"], entry["action"], entry["subject_type"], entry["subject_id"]) == (
        "root",
        "user_created",
        "user",
        "alice",
    )
    assert entry["detail"] == {"role": "supervisor"}


async def test_a_taken_name_and_weak_passwords_are_refused(users: Users) -> None:
    await users.create("root", username="alice", password=PASSWORD, role=Role.OPERATOR)
    with pytest.raises(UserExistsError):
        await users.create("root", username="alice", password=PASSWORD, role=Role.ADMIN)
    with pytest.raises(PolicyError, match="username"):
        await users.create("root", username="bob", password="bob-and-his-12", role=Role.ADMIN)
    with pytest.raises(PolicyError, match="reserved"):
        await users.create("root", username="system", password=PASSWORD, role=Role.ADMIN)
    assert (await users.get("alice")) is not None
    assert (await users.get("alice")).role is Role.OPERATOR  # type: ignore[union-attr]
    assert (await users.get("bob")) is None
    assert [e["action"] for e in await audit(users.store)] == ["user_created"]


async def test_users_page_by_name_with_a_total(users: Users) -> None:
    for n in ("carol", "alice", "bob"):
        await users.create("root", username=n, password=PASSWORD, role=Role.OPERATOR)
    page, total = await users.page(limit=2, offset=0)
    assert [u.username for u in page] == ["alice", "bob"]
    assert total == 3
    page, _ = await users.page(limit=2, offset=2)
    assert [u.username for u in page] == ["carol"]


async def test_role_and_activity_changes_are_audited(users: Users) -> None:
    await users.create("root", username="admin1", password=PASSWORD, role=Role.ADMIN)
    await users.create("root", username="alice", password=PASSWORD, role=Role.OPERATOR)
    row = await users.change("admin1", "alice", UserChange(role=Role.SUPERVISOR))
    assert row.role is Role.SUPERVISOR
    row = await users.change("admin1", "alice", UserChange(active=False, display_name="Alice N."))
    assert (row.active, row.display_name, row.role) == (False, "Alice N.", Role.SUPERVISOR)
    assert await users.get("alice") == row
    changes = [e for e in await audit(users.store) if e["action"] == "user_changed"]
    assert [(e["actor"], e["detail"]) for e in changes] == [
        ("admin1", {"role": "supervisor"}),
        ("admin1", {"active": False, "display_name": True}),
    ]
    with pytest.raises(UnknownUserError):
        await users.change("admin1", "nobody", UserChange(active=False))


async def test_the_last_active_admin_stays(users: Users) -> None:
    await users.create("root", username="admin1", password=PASSWORD, role=Role.ADMIN)
    for change in (UserChange(active=False), UserChange(role=Role.OPERATOR)):
        with pytest.raises(LastAdminError):
            await users.change("admin1", "admin1", change)
    assert (await users.get("admin1")).role is Role.ADMIN  # type: ignore[union-attr]
    await users.create("root", username="admin2", password=PASSWORD, role=Role.ADMIN)
    await users.change("admin2", "admin1", UserChange(role=Role.OPERATOR))
    with pytest.raises(LastAdminError):
        await users.change("admin2", "admin2", UserChange(active=False))
    assert [e["action"] for e in await audit(users.store)].count("user_changed") == 1


async def test_passwords_are_reset_and_changed_with_the_old_one(users: Users) -> None:
    await users.create("root", username="alice", password=PASSWORD, role=Role.OPERATOR)
    before = (await users.get("alice")).password_hash  # type: ignore[union-attr]
    await users.set_password("admin1", "alice", "ochre-zebra-99-quilt")
    after = (await users.get("alice")).password_hash  # type: ignore[union-attr]
    assert after != before
    assert (await users.passwords.verify(after, "ochre-zebra-99-quilt"))[0]
    with pytest.raises(LoginFailedError, match="current password is wrong"):
        await users.change_own_password("alice", PASSWORD, "another-good-pass-7")
    with pytest.raises(PolicyError):
        await users.change_own_password("alice", "ochre-zebra-99-quilt", "short")
    await users.change_own_password("alice", "ochre-zebra-99-quilt", "another-good-pass-7")
    with pytest.raises(UnknownUserError):
        await users.set_password("admin1", "nobody", "another-good-pass-7")
    actions = [(e["actor"], e["action"]) for e in await audit(users.store)]
    assert actions[1:] == [("admin1", "password_reset"), ("alice", "password_changed")]


async def test_an_outdated_hash_is_reported_for_rehashing(store: Store) -> None:
    weak = Users(store, Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)))
    await weak.create("root", username="alice", password=PASSWORD, role=Role.OPERATOR)
    old = (await weak.get("alice")).password_hash  # type: ignore[union-attr]
    ok, fresh = await Users(store).passwords.verify(old, PASSWORD)
    assert ok
    assert fresh is not None
    assert fresh.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await Users(store).passwords.verify(fresh, PASSWORD) == (True, None)
