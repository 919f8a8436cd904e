"""Per-home broker credentials: a Mosquitto password-file entry and ACL rules.

``homecare provision H0001 --passwd-file /etc/mosquitto/homecare.passwd
--acl-file /etc/mosquitto/homecare.acl`` creates the user ``gw-H0001`` with a
new random password, and ACL rules that let it write only its own
``homecare/v1/H0001/events`` and ``/status`` and read only its own
``/commands``. The backend's user may read every home's events and status and
write commands and responders' notifications. Re-provisioning a home replaces its
entries (and its password).

Entries use Mosquitto's own ``$7$`` format (PBKDF2-SHA512, 101 iterations, a
12-byte salt), which ``mosquitto_passwd`` writes too. The password is 32 random
bytes, so the low iteration count, which keeps a city's reconnect storm cheap
for the broker, costs no real strength. Mosquitto reads both files at start and
on SIGHUP.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from protocol import HOME_ID_PATTERN

__all__ = [
    "BACKEND_USER",
    "Credential",
    "ProvisionError",
    "acl_block",
    "backend_acl_block",
    "gateway_user",
    "hash_password",
    "provision_backend",
    "provision_home",
    "verify_password",
    "write_secret",
]

#: The backend's broker user, unless told otherwise.
BACKEND_USER = "homecare-backend"

_ITERATIONS = 101
_SALT_BYTES = 12
_USERNAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


class ProvisionError(Exception):
    """Provisioning failed: a bad home id or user name, or a file that cannot be written."""


@dataclass(frozen=True, slots=True)
class Credential:
    """A broker user and its new password (shown once, never stored in clear)."""

    username: str
    password: str


def gateway_user(home_id: str) -> str:
    """Return the broker user name of a home's gateway."""
    return f"gw-{home_id}"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return the Mosquitto ``$7$`` PBKDF2-SHA512 hash of ``password``."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ITERATIONS)
    b64 = base64.b64encode
    return f"$7${_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Tell whether ``password`` matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        if kind != "7":
            return False
        computed = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
        return secrets.compare_digest(computed, base64.b64decode(digest))
    except ValueError:
        return False


def acl_block(home_id: str) -> str:
    """Return the ACL rules of one home's gateway."""
    user = gateway_user(home_id)
    base = f"homecare/v1/{home_id}"
    return (
        f"user {user}\n"
        f"topic write {base}/events\n"
        f"topic write {base}/status\n"
        f"topic read {base}/commands\n"
    )


def backend_acl_block(user: str = BACKEND_USER) -> str:
    """Return the backend's ACL: read events and status, write commands and notifications."""
    return (
        f"user {user}\n"
        "topic read homecare/v1/+/events\n"
        "topic read homecare/v1/+/status\n"
        "topic write homecare/v1/+/commands\n"
        "topic write homecare/v1/responders/+/notifications\n"
    )


def _check_user(user: str) -> None:
    if not user or len(user) > 128 or not set(user) <= _USERNAME_CHARS:
        raise ProvisionError(f"bad user name {user!r}: use letters, digits, '_', '-' and '.'")


def _replace_block(text: str, name: str, block: str) -> str:
    """Replace (or append) the block between our markers for ``name``."""
    begin, end = f"# BEGIN homecare {name}", f"# END homecare {name}"
    lines = text.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if line.strip() == begin:
            inside = True
            continue
        if inside:
            if line.strip() == end:
                inside = False
            continue
        out.append(line)
    if inside:
        raise ProvisionError(f"the ACL file has {begin!r} without {end!r}; fix it by hand")
    while out and not out[-1].strip():
        out.pop()
    if out:
        out.append("")
    out += [begin, *block.rstrip("\n").splitlines(), end]
    return "\n".join(out) + "\n"


def _replace_entry(text: str, user: str, encoded: str) -> str:
    kept = [line for line in text.splitlines() if line.split(":", 1)[0] != user]
    kept = [line for line in kept if line.strip()]
    return "\n".join([*kept, f"{user}:{encoded}"]) + "\n"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # One provisioning at a time per file: read-modify-write must not interleave.
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _write_atomic(path: Path, text: str, default_mode: int) -> None:
    """Replace ``path`` atomically, keeping its mode (or ``default_mode`` for a new file)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = default_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
    except OSError as err:
        raise ProvisionError(f"cannot write the password to {path}: {err}") from err


def _provision(
    user: str, block: str, *, passwd_file: Path, acl_file: Path, extra: list[str]
) -> Credential:
    _check_user(user)
    password = secrets.token_urlsafe(32)
    try:
        passwd_file.parent.mkdir(parents=True, exist_ok=True)
        acl_file.parent.mkdir(parents=True, exist_ok=True)
        with _locked(passwd_file):
            _write_atomic(
                passwd_file,
                _replace_entry(_read(passwd_file), user, hash_password(password)),
                0o600,
            )
            acl = _read(acl_file)
            for name in extra:
                if f"# BEGIN homecare {name}" not in acl:
                    acl = _replace_block(acl, name, backend_acl_block(name))
            _write_atomic(acl_file, _replace_block(acl, user, block), 0o644)
    except OSError as err:
        raise ProvisionError(f"cannot update {passwd_file} or {acl_file}: {err}") from err
    return Credential(user, password)


def provision_home(
    home_id: str, *, passwd_file: Path, acl_file: Path, backend_user: str = BACKEND_USER
) -> Credential:
    """Create or replace a home gateway's broker user and ACL rules; return its new password.

    Also adds the backend user's ACL rules if the file lacks them.
    """
    if not HOME_ID_PATTERN.fullmatch(home_id):
        raise ProvisionError(f"bad home id {home_id!r}: 1 to 64 of A-Z a-z 0-9 _ -")
    _check_user(backend_user)
    user = gateway_user(home_id)
    return _provision(
        user, acl_block(home_id), passwd_file=passwd_file, acl_file=acl_file, extra=[backend_user]
    )


def provision_backend(
    *, passwd_file: Path, acl_file: Path, backend_user: str = BACKEND_USER
) -> Credential:
    """Create or replace the backend's broker user and ACL rules; return its new password."""
    return _provision(
        backend_user,
        backend_acl_block(backend_user),
        passwd_file=passwd_file,
        acl_file=acl_file,
        extra=[],
    )
