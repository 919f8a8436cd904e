"""Gateway configuration: one TOML file, overridden by ``HOMECARE_...`` variables.

The sections are msgspec structs rather than pydantic models, so that the
gateway's process never imports pydantic (docs/gateway.md, "Performance"). Files
and environment variables are validated in full by ``load_gateway_config`` and
``GatewayConfig.model_validate``; a config built in code runs the cross-field
checks (devices against profiles and ports) but trusts its callers' types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

import msgspec
from msgspec import Meta, Struct, field

from device_profiles import SourceKind, load_registry
from protocol import HOME_ID_PATTERN
from protocol.config import load_struct_config

__all__ = [
    "BrokerSettings",
    "DeviceConfig",
    "GatewayConfig",
    "OutboxSettings",
    "Rtl433Config",
    "SecretStr",
    "SerialPortConfig",
    "Zigbee2MqttConfig",
    "load_gateway_config",
]


class SecretStr:
    """A password: its text is kept out of ``repr`` and so out of logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the secret text."""
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _dec_hook(kind: type, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind is SecretStr and isinstance(value, str):
        return SecretStr(value)
    raise TypeError(f"Expected `str`, got `{type(value).__name__}`")


def _plain(value: Any) -> Any:
    if isinstance(value, Struct):
        return {name: _plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class _Section(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Immutable, and unknown keys are an error.

    ``model_validate``, ``model_copy`` and ``model_dump`` keep the calls that
    callers made when the sections were pydantic models. Patterns end in ``\\Z``:
    msgspec matches with Python's ``re``, whose ``$`` also matches before a final newline.
    """

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """Validate plain data (parsed TOML, say); raise ``msgspec.ValidationError``."""
        return msgspec.convert(data, cls, strict=False, dec_hook=_dec_hook)

    def model_copy(self, *, update: dict[str, Any]) -> Self:
        """Return a copy with the ``update`` fields replaced."""
        return msgspec.structs.replace(self, **update)

    def model_dump(self) -> dict[str, Any]:
        """Return the fields as a dict of plain values (paths and secrets stay objects)."""
        result: dict[str, Any] = _plain(self)
        return result


class BrokerSettings(_Section, frozen=True, kw_only=True):
    """An MQTT broker to connect to."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    #: "5" in production, so that a refused publish is seen; "3.1.1" only for the
    #: demo's embedded broker, which lacks v5.
    protocol: Literal["5", "3.1.1"] = "5"


class Zigbee2MqttConfig(_Section, frozen=True, kw_only=True):
    """Where Zigbee2MQTT publishes: the local broker and its base topic."""

    broker: BrokerSettings = field(default_factory=BrokerSettings)
    base_topic: Annotated[str, Meta(min_length=1, pattern=r"^[^#+]+\Z")] = "zigbee2mqtt"


class SerialPortConfig(_Section, frozen=True, kw_only=True):
    """One serial receiver: its device path (or pyserial URL), framing and baud rate."""

    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}\Z")]
    path: str
    framing: str = "ev1527"
    baudrate: Annotated[int, Meta(gt=0)] = 9600


class Rtl433Config(_Section, frozen=True, kw_only=True):
    """rtl_433's JSON events: from its MQTT output, and/or from a pipe.

    ``broker`` and ``topic``: rtl_433 run with ``-F mqtt://...,events=rtl_433/<host>/events``.
    ``command``: run rtl_433 (for example ``["rtl_433", "-F", "json"]``) and read its stdout.
    ``path``: read JSON lines from a FIFO (or a file being appended to).
    """

    broker: BrokerSettings | None = None
    topic: Annotated[str, Meta(min_length=1)] = "rtl_433/+/events"
    command: Annotated[list[str], Meta(min_length=1)] | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if self.broker is None and self.command is None and self.path is None:
            raise ValueError("[rtl_433] needs a broker, a command or a path")
        if self.command is not None and self.path is not None:
            raise ValueError("[rtl_433] takes a command or a path, not both")


class DeviceConfig(_Section, frozen=True, kw_only=True):
    """One installed device.

    ``address`` is the Zigbee2MQTT friendly name, the serial sensor code (six hex
    digits), or the rtl_433 ``model:id``. ``port`` names the serial port for serial devices.
    """

    device_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}\Z")]
    profile: str
    address: Annotated[str, Meta(min_length=1, max_length=128)]
    room: Annotated[str, Meta(max_length=64)] | None = None
    port: str | None = None


class OutboxSettings(_Section, frozen=True, kw_only=True):
    """The outbox's disk budget; when full, the oldest non-life-safety events are evicted."""

    #: Bytes of queued events (JSON bodies plus a fixed per-row overhead).
    max_bytes: Annotated[int, Meta(ge=1_000_000)] = 128 * 1024 * 1024
    max_events: Annotated[int, Meta(ge=1_000)] = 500_000


class GatewayConfig(_Section, frozen=True, kw_only=True):
    """Everything one home's gateway needs."""

    home_id: Annotated[str, Meta(pattern=rf"^{HOME_ID_PATTERN.pattern}\Z")]
    data_dir: Path = Path("var/gateway")
    uplink: BrokerSettings = field(default_factory=BrokerSettings)
    zigbee2mqtt: Zigbee2MqttConfig | None = None
    serial: list[SerialPortConfig] = field(default_factory=list)
    devices: list[DeviceConfig] = field(default_factory=list)
    status_interval_s: Annotated[float, Meta(gt=0)] = 60.0
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    rtl_433: Rtl433Config | None = None

    def __post_init__(self) -> None:
        registry = load_registry()
        ports = {p.name for p in self.serial}
        seen_ids: set[str] = set()
        seen_addresses: set[tuple[str, str | None, str]] = set()
        for i, dev in enumerate(self.devices):
            where = f"devices[{i}] ({dev.device_id})"
            if dev.device_id in seen_ids:
                raise ValueError(f"{where}: duplicate device_id")
            seen_ids.add(dev.device_id)
            if dev.profile not in registry:
                raise ValueError(f"{where}: unknown profile {dev.profile!r}")
            source = registry[dev.profile].source
            if source is SourceKind.SERIAL:
                if dev.port not in ports:
                    raise ValueError(f"{where}: port must name one of the [[serial]] ports")
                address = dev.address.upper()
                if len(address) != 6 or any(c not in "0123456789ABCDEF" for c in address):
                    raise ValueError(f"{where}: a serial address is six hex digits")
            elif source is SourceKind.ZIGBEE2MQTT and self.zigbee2mqtt is None:
                raise ValueError(f"{where}: a zigbee2mqtt device needs a [zigbee2mqtt] section")
            elif source is SourceKind.RTL_433:
                if self.rtl_433 is None:
                    raise ValueError(f"{where}: an rtl_433 device needs an [rtl_433] section")
                model, sep, ident = dev.address.rpartition(":")
                if not sep or not model or not ident:
                    raise ValueError(
                        f"{where}: an rtl_433 address is 'model:id', as rtl_433 prints"
                    )
                known = registry[dev.profile].models
                if known and model not in known:
                    raise ValueError(
                        f"{where}: model {model!r} is not one of {', '.join(known)} "
                        f"that profile {dev.profile} decodes"
                    )
            key = (source.value, dev.port, dev.address.upper())
            if key in seen_addresses:
                raise ValueError(f"{where}: address {dev.address!r} is used twice")
            seen_addresses.add(key)


def load_gateway_config(path: Path | None) -> GatewayConfig:
    """Load the gateway config from ``path`` and the environment."""
    return load_struct_config(GatewayConfig, path, dec_hook=_dec_hook)
