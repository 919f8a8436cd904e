"""Password rules and argon2id hashing."""

from __future__ import annotations

import asyncio
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.auth._errors import PolicyError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Passwords",
    "check_password",
]

MIN_PASSWORD_LENGTH = 12
#: Far above any passphrase, and keeps a hostile form from feeding megabytes to the hash.
MAX_PASSWORD_LENGTH = 256
_MIN_DISTINCT = 5

# Runs a weak password may be cut from: keyboard rows, the alphabet, digits (both directions).
_RUNS = tuple(
    run + run[::-1]
    for run in (
        "qwertyuiopasdfghjklzxcvbnm",
        "qwertzuiopasdfghjklyxcvbnm",
        "azertyuiopqsdfghjklmwxcvbn",
        "abcdefghijklmnopqrstuvwxyz",
        "1234567890" * 3,
    )
)
# Words that, with digits and symbols around them, make the passwords tried first.
_COMMON_WORDS = frozenset(
    {
        "password",
        "passwort",
        "passw0rd",
        "homecare",
        "letmein",
        "welcome",
        "qwerty",
        "admin",
        "administrator",
        "operator",
        "supervisor",
        "iloveyou",
        "changeme",
        "secret",
    }
)
_NOT_LETTERS = re.compile(r"[^a-z]+")


def check_password(password: str, *, username: str) -> None:
    """Refuse a password that is too short, too long or obviously weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PolicyError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PolicyError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    name = username.lower()
    if name and name in lowered:
        raise PolicyError("the password must not contain the username")
    if len(set(password)) < _MIN_DISTINCT:
        raise PolicyError(f"the password needs at least {_MIN_DISTINCT} different characters")
    if any(lowered in run for run in _RUNS):
        raise PolicyError("the password is a run of keys, letters or digits")
    if _NOT_LETTERS.sub("", lowered) in _COMMON_WORDS:
        raise PolicyError("the password is a common word with digits or symbols")


class Passwords:
    """Hash and verify passwords with argon2id, off the event loop.

    argon2id takes about 0.1 s of CPU and 64 MiB per hash with the library's defaults
    (RFC 9106's second recommended option). One hash runs at a time by default, so that a
    burst of logins cannot take every core from ingest.
    """

    def __init__(self, hasher: PasswordHasher | None = None, *, concurrency: int = 1) -> None:
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of ``password``."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> tuple[bool, str | None]:
        """Check ``password``; return whether it matches and, if the hash is outdated, a new one."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    async def burn(self, password: str) -> None:
        """Verify against a throwaway hash, so an unknown user costs what a known one does."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(24))
        await self.verify(self._dummy, password)

    def _verify(self, password_hash: str, password: str) -> tuple[bool, str | None]:
        try:
            self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False, None
        if self._hasher.check_needs_rehash(password_hash):
            return True, self._hasher.hash(password)
        return True, None
