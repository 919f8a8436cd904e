"""What source adapters hand to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from device_profiles import SourceKind

__all__ = ["Availability", "BridgeState", "LinkState", "RawReading", "Rejection", "SourceItem"]


@dataclass(frozen=True, slots=True)
class RawReading:
    """One report of one device, before decoding.

    ``address`` is the Zigbee2MQTT friendly name or the serial sensor code;
    ``port`` names the serial port (None for Zigbee2MQTT).
    """

    source: SourceKind
    address: str
    payload: dict[str, Any]
    observed_at: datetime
    raw: bytes
    port: str | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """A source says a device went online or offline."""

    source: SourceKind
    address: str
    online: bool
    observed_at: datetime
    raw: bytes
    port: str | None = None


@dataclass(frozen=True, slots=True)
class BridgeState:
    """The state of a source's bridge (for Zigbee2MQTT: ``<base>/bridge/state``)."""

    source: SourceKind
    state: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class LinkState:
    """A source's own link went up or down: a serial port opened or lost, rtl_433 started or exited.

    ``name`` identifies the source, as in the status message (``serial:rf``, ``rtl_433``).
    """

    name: str
    up: bool
    observed_at: datetime
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that could not be used, and why; it goes to the dead-letter store."""

    reason: str
    source: str
    raw: bytes
    observed_at: datetime
    detail: str = ""


SourceItem = RawReading | Availability | BridgeState | LinkState | Rejection
