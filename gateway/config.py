"""Gateway configuration: one TOML file, overridden by ``HOMECARE_...`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from device_profiles import SourceKind, load_registry
from protocol import HOME_ID_PATTERN
from protocol.config import load_config

__all__ = [
    "BrokerSettings",
    "DeviceConfig",
    "GatewayConfig",
    "OutboxSettings",
    "Rtl433Config",
    "SerialPortConfig",
    "Zigbee2MqttConfig",
    "load_gateway_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerSettings(_Section):
    """An MQTT broker to connect to."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
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


class Zigbee2MqttConfig(_Section):
    """Where Zigbee2MQTT publishes: the local broker and its base topic."""

    broker: BrokerSettings = BrokerSettings()
    base_topic: Annotated[str, Field(min_length=1, pattern=r"^[^#+]+$")] = "zigbee2mqtt"


class SerialPortConfig(_Section):
    """One serial receiver: its device path (or pyserial URL), framing and baud rate."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    path: str
    framing: str = "ev1527"
    baudrate: Annotated[int, Field(gt=0)] = 9600


class Rtl433Config(_Section):
    """rtl_433's JSON events: from its MQTT output, and/or from a pipe.

    ``broker`` and ``topic``: rtl_433 run with ``-F mqtt://...,events=rtl_433/<host>/events``.
    ``command``: run rtl_433 (for example ``["rtl_433", "-F", "json"]``) and read its stdout.
    ``path``: read JSON lines from a FIFO (or a file being appended to).
    """

    broker: BrokerSettings | None = None
    topic: Annotated[str, Field(min_length=1)] = "rtl_433/+/events"
    command: Annotated[list[str], Field(min_length=1)] | None = None
    path: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Self:
        if self.broker is None and self.command is None and self.path is None:
            raise ValueError("[rtl_433] needs a broker, a command or a path")
        if self.command is not None and self.path is not None:
            raise ValueError("[rtl_433] takes a command or a path, not both")
        return self


class DeviceConfig(_Section):
    """One installed device.

    ``address`` is the Zigbee2MQTT friendly name, the serial sensor code (six hex
    digits), or the rtl_433 ``model:id``. ``port`` names the serial port for serial devices.
    """

    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    profile: str
    address: Annotated[str, Field(min_length=1, max_length=128)]
    room: Annotated[str, Field(max_length=64)] | None = None
    port: str | None = None


class OutboxSettings(_Section):
    """The outbox's disk budget; when full, the oldest non-life-safety events are evicted."""

    #: Bytes of queued events (JSON bodies plus a fixed per-row overhead).
    max_bytes: Annotated[int, Field(ge=1_000_000)] = 128 * 1024 * 1024
    max_events: Annotated[int, Field(ge=1_000)] = 500_000


class GatewayConfig(_Section):
    """Everything one home's gateway needs."""

    home_id: Annotated[str, Field(pattern=rf"^{HOME_ID_PATTERN.pattern}$")]
    data_dir: Path = Path("var/gateway")
    uplink: BrokerSettings = BrokerSettings()
    zigbee2mqtt: Zigbee2MqttConfig | None = None
    serial: list[SerialPortConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)
    status_interval_s: Annotated[float, Field(gt=0)] = 60.0
    outbox: OutboxSettings = OutboxSettings()
    rtl_433: Rtl433Config | None = None

    @model_validator(mode="after")
    def _devices_resolve(self) -> Self:
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
        return self


def load_gateway_config(path: Path | None) -> GatewayConfig:
    """Load the gateway config from ``path`` and the environment."""
    return load_config(GatewayConfig, path)
