"""Loading of process configuration: one TOML file, overridden by environment variables.

Every process describes its settings as a typed model whose sub-models forbid
unknown keys: a pydantic model (backend, simulator) or, for the gateway, which
keeps pydantic out of its process, a msgspec struct. ``load_config`` and
``load_struct_config`` read the file, apply ``HOMECARE_<SECTION>__<KEY>=value``
overrides, validate, and turn the first problem into a ``ConfigError`` that
names the file, the key and the fix.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import msgspec
    from pydantic import BaseModel

__all__ = ["ConfigError", "load_config", "load_struct_config", "struct_error_location"]

M = TypeVar("M", bound="BaseModel")
S = TypeVar("S", bound="msgspec.Struct")


class ConfigError(Exception):
    """A configuration file or override is invalid; the message says where and how to fix it."""


def _overrides(env: Mapping[str, str], prefix: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(prefix) or name == prefix:
            continue
        path = name[len(prefix) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            # Numbers, booleans, lists and tables may be given as JSON.
            node[path[-1]] = json.loads(raw)
        except ValueError:
            node[path[-1]] = raw
    return tree


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fix_for(error_type: str) -> str:
    if error_type == "extra_forbidden":
        return "remove it, or check its spelling against the documented keys"
    if error_type == "missing":
        return "add it"
    return "correct the value"


def _read(
    path: Path | None, env: Mapping[str, str] | None, env_prefix: str
) -> tuple[str, dict[str, Any]]:
    where = str(path) if path is not None else "(built-in defaults)"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"{where}: cannot read the file: {err.strerror}") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{where}: not valid TOML: {err}") from err
    return where, _merge(data, _overrides(os.environ if env is None else env, env_prefix))


def _problem(where: str, key: str, message: str, error_type: str, env_prefix: str) -> ConfigError:
    return ConfigError(
        f"{where}: {key}: {message}; fix: {_fix_for(error_type)} "
        f"(or set {env_prefix}{key.upper().replace('.', '__')})"
    )


def load_config(
    model: type[M],
    path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    env_prefix: str = "HOMECARE_",
) -> M:
    """Read ``path`` (if given), apply environment overrides, and validate against ``model``."""
    from pydantic import ValidationError  # noqa: PLC0415 - the gateway loads configs without it

    where, data = _read(path, env, env_prefix)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise _problem(where, key, first["msg"], first["type"], env_prefix) from err


# msgspec's messages end with where the problem is: " - at `$.devices[0].room`",
# or " - at `key` in `$.filters`" for a mapping key.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?:key` in `)?(?P<path>\$[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<name>[^`]+)`$")


def struct_error_location(message: str) -> tuple[str, str, str]:
    """Split a msgspec validation message into (dotted key, message, kind of problem).

    The key is written as pydantic writes locations (``devices.0.room``), and the
    kind is ``missing``, ``extra_forbidden`` or ``value_error``.
    """
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    text, path = match["msg"], match["path"] or "$"
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path.removeprefix("$")) if p]
    kind = "value_error"
    named = _NAMED.match(text)
    if named is not None:
        parts.append(named["name"])
        kind = "missing" if named["what"] == "missing required" else "extra_forbidden"
    return ".".join(parts), text, kind


def load_struct_config(
    model: type[S],
    path: Path | None,
    *,
    dec_hook: Callable[[type, Any], Any] | None = None,
    env: Mapping[str, str] | None = None,
    env_prefix: str = "HOMECARE_",
) -> S:
    """Like ``load_config``, for a msgspec struct; values convert as in pydantic's lax mode."""
    import msgspec  # noqa: PLC0415 - only the processes configured by structs need it

    where, data = _read(path, env, env_prefix)
    try:
        return msgspec.convert(data, model, strict=False, dec_hook=dec_hook)
    except msgspec.ValidationError as err:
        key, message, kind = struct_error_location(str(err))
        raise _problem(where, key or "(top level)", message, kind, env_prefix) from err
