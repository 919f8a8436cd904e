"""Load and validate every device profile shipped in this package."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from device_profiles.framing import known_framings
from device_profiles.schema import Profile

__all__ = ["PROFILE_DIR", "ProfileError", "Registry", "load_profile", "load_registry"]

PROFILE_DIR = Path(__file__).parent
# libyaml's safe loader when present: it loads the registry several times faster,
# which matters for the gateway's start-up on a Raspberry Pi.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ProfileError(Exception):
    """A profile file is invalid; the message names the file and the key."""


def load_profile(path: Path) -> Profile:
    """Parse and validate one profile file."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read YAML: {err}") from err
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ProfileError(f"{path}: {where}: {first['msg']}") from err
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
