"""Loading of process configuration: one TOML file, overridden by environment variables.

Every process (gateway, backend, simulator) describes its settings as a pydantic
model whose sub-models forbid unknown keys. ``load_config`` reads the file,
applies ``HOMECARE_<SECTION>__<KEY>=value`` overrides, validates, and turns the
first problem into a ``ConfigError`` that names the file, the key and the fix.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["ConfigError", "load_config"]

M = TypeVar("M", bound=BaseModel)


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


def load_config(
    model: type[M],
    path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    env_prefix: str = "HOMECARE_",
) -> M:
    """Read ``path`` (if given), apply environment overrides, and validate against ``model``."""
    where = str(path) if path is not None else "(built-in defaults)"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"{where}: cannot read the file: {err.strerror}") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{where}: not valid TOML: {err}") from err
    data = _merge(data, _overrides(os.environ if env is None else env, env_prefix))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(
            f"{where}: {key}: {first['msg']}; fix: {_fix_for(first['type'])} "
            f"(or set {env_prefix}{key.upper().replace('.', '__')})"
        ) from err
