"""``homecare backend create-user``: add an operator account, such as the first admin."""

from __future__ import annotations

import argparse
import getpass
import sys

from backend._errors import BackendError
from backend.auth import Role, UserExistsError, Users, check_username
from backend.config import load_backend_config
from backend.storage import Store

__all__ = ["run_create_user"]


def _say(message: str) -> None:
    sys.stderr.write(f"homecare backend create-user: {message}\n")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        _say("the passwords differ")
        return None
    return first


async def run_create_user(args: argparse.Namespace) -> int:
    """Create the user the arguments name; return the exit code."""
    config = load_backend_config(args.config)
    if not args.username:
        _say("give --username")
        return 2
    try:
        store = await Store.open(config.database_url)
    except BackendError as err:
        _say(str(err))
        return 1
    try:
        users = Users(store)
        check_username(args.username)
        # Say so before asking for a password that would be thrown away.
        if await users.get(args.username) is not None:
            raise UserExistsError(f"a user named {args.username!r} exists already")
        password = _read_password(args.password_stdin)
        if password is None:
            return 1
        user = await users.create(
            _actor(),
            username=args.username,
            password=password,
            role=Role(args.role),
            display_name=args.display_name or "",
        )
    except BackendError as err:
        _say(str(err))
        return 1
    finally:
        await store.close()
    sys.stdout.write(f"created user {user.username} ({user.role.value})\n")
    return 0
