"""Load and validate every device profile shipped in this package."""

from __future__ import annotations

import contextlib
import re
import types
import typing
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import yaml

from device_profiles.framing import known_framings
from device_profiles.schema import Profile
from protocol.config import struct_error_location

__all__ = ["PROFILE_DIR", "ProfileError", "Registry", "load_profile", "load_registry"]

PROFILE_DIR = Path(__file__).parent
# libyaml's safe loader when present: it loads the registry several times faster,
# which matters for the gateway's start-up on a Raspberry Pi.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ProfileError(Exception):
    """A profile file is invalid; the message names the file and the key."""


_STEP = re.compile(r"\.([^.\[`]+)|\[(\d+|\.\.\.)\]")
_PATH = re.compile(r"`(\$[^`]*)`$")


def _unwrap(kind: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` from a field's type."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(members) != 1:
                return kind
            kind = members[0]
        else:
            return kind


def _name_keys(raw: Any, path: str) -> str:
    """Return msgspec's error ``path`` with each ``[...]`` replaced by the mapping key it hides.

    msgspec does not say which key of a mapping (a rule's ``data``, say) held the
    bad value; validating each entry of that mapping on its own finds it.
    """
    kind: Any = Profile
    node = raw
    named = "$"
    for name, index in _STEP.findall(path.removeprefix("$")):
        kind = _unwrap(kind)
        if name:
            field = next(f for f in msgspec.structs.fields(kind) if f.encode_name == name)
            kind = typing.get_type_hints(kind, include_extras=True)[field.name]
            node, named = node[name], f"{named}.{name}"
        elif index != "...":
            kind, node, named = typing.get_args(kind)[0], node[int(index)], f"{named}[{index}]"
        else:
            kind = typing.get_args(kind)[1]
            key = next(k for k, v in node.items() if not _valid(v, kind))
            node, named = node[key], f"{named}.{key}"
    return named


def _valid(value: Any, kind: Any) -> bool:
    try:
        msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _describe(err: msgspec.ValidationError, raw: Any) -> tuple[str, str]:
    message = str(err)
    found = _PATH.search(message)
    if found is not None and "[...]" in found[1]:
        # Where the data do not follow the path, msgspec's own path is kept.
        with contextlib.suppress(KeyError, IndexError, TypeError, StopIteration):
            message = message.replace(found[1], _name_keys(raw, found[1]))
    where, text, _ = struct_error_location(message)
    return where or "(top level)", text


def load_profile(path: Path) -> Profile:
    """Parse and validate one profile file."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read YAML: {err}") from err
    try:
        # Strict: YAML has types of its own, so "60" is not a number of seconds.
        profile = msgspec.convert(raw, Profile, strict=True)
    except msgspec.ValidationError as err:
        where, message = _describe(err, raw)
        raise ProfileError(f"{path}: {where}: {message}") from err
    if profile.id != path.stem:
        raise ProfileError(f"{path}: id {profile.id!r} must equal the file name {path.stem!r}")
    if profile.framing is not None and profile.framing not in known_framings():
        raise ProfileError(f"{path}: framing: unknown framing {profile.framing!r}")
    return profile


class Registry(Mapping[str, Profile]):
    """Every profile, by id."""

    def __init__(self, profiles: Mapping[str, Profile]) -> None:
        self._profiles = dict(profiles)

    def __getitem__(self, key: str) -> Profile:
        try:
            return self._profiles[key]
        except KeyError:
            raise KeyError(f"unknown device profile {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)


def _scan(root: Path) -> Registry:
    profiles: dict[str, Profile] = {}
    for path in sorted(root.rglob("*.yaml")):
        profile = load_profile(path)
        if profile.id in profiles:
            raise ProfileError(f"{path}: duplicate profile id {profile.id!r}")
        profiles[profile.id] = profile
    return Registry(profiles)


@cache
def _shipped() -> Registry:
    return _scan(PROFILE_DIR)


def load_registry(root: Path | None = None) -> Registry:
    """Load every profile under ``root`` (default: the shipped ones)."""
    return _shipped() if root is None else _scan(root)
