"""Gateway-format load for the backend benchmarks: many homes, a realistic mix of events.

Each home has the devices of a typical install (front door, motion sensors in four rooms,
a bed mat with vital signs, a seat sensor, smoke and water detectors, a pendant). Events
are encoded straight to the envelope JSON a gateway sends, one home per message, so that
generating them costs the publisher little next to what the backend does with them.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import uuid_utils

from protocol import events_topic, format_timestamp

__all__ = ["ALERTING", "QUIET", "EventMix", "Homes"]

# (weight, device, type, room, data): what a home sends in the course of a day.
_Choice = tuple[float, str, str, str, str]
QUIET: tuple[_Choice, ...] = (
    (14, "pir_kitchen", "motion", "kitchen", '{"motion":true}'),
    (10, "pir_kitchen", "motion", "kitchen", '{"motion":false}'),
    (10, "pir_living", "motion", "living", '{"motion":true}'),
    (8, "pir_living", "motion", "living", '{"motion":false}'),
    (6, "pir_bedroom", "motion", "bedroom", '{"motion":true}'),
    (4, "pir_bedroom", "motion", "bedroom", '{"motion":false}'),
    (6, "door_front", "contact", "entrance", '{"open":true}'),
    (6, "door_front", "contact", "entrance", '{"open":false}'),
    (4, "door_fridge", "contact", "kitchen", '{"open":true}'),
    (4, "door_fridge", "contact", "kitchen", '{"open":false}'),
    (3, "seat_living", "presence", "living", '{"present":true}'),
    (3, "seat_living", "presence", "living", '{"present":false}'),
    (3, "bed_mat", "bed", "bedroom", '{"occupied":true}'),
    (3, "bed_mat", "bed", "bedroom", '{"occupied":false}'),
    (5, "bed_mat", "vitals", "bedroom", '{"heart_rate":64,"respiration_rate":14}'),
    (5, "bed_mat", "vitals", "bedroom", '{"heart_rate":71,"respiration_rate":16}'),
    (4, "pir_kitchen", "battery", "kitchen", '{"percent":87,"low":false}'),
    (3, "smoke_hall", "battery", "hall", '{"percent":92,"low":false}'),
    (2, "smoke_hall", "smoke", "hall", '{"alarm":false}'),
    (2, "leak_kitchen", "water_leak", "kitchen", '{"alarm":false}'),
    (1, "pir_kitchen", "tamper", "kitchen", '{"tampered":false}'),
    (2, "pir_living", "device_status", "living", '{"online":true,"reason":"seen"}'),
)
#: Events that raise (or attach to) an alert: an SOS press, a smoke alarm, a low battery.
ALERTING: tuple[_Choice, ...] = (
    (6, "pendant", "sos", "bedroom", '{"source":"pendant"}'),
    (2, "smoke_hall", "smoke", "hall", '{"alarm":true}'),
    (2, "pir_bedroom", "battery", "bedroom", '{"percent":8,"low":true}'),
)
_TEMPLATE = (
    '{{"v":1,"id":"{id}","home":"{home}","device":"{device}","type":"{type}",'
    '"at":"{at}","seq":{seq},"room":"{room}","data":{data}}}'
)


_QUIET_CUM = tuple(itertools.accumulate(c[0] for c in QUIET))
_ALERTING_CUM = tuple(itertools.accumulate(c[0] for c in ALERTING))


@dataclass(frozen=True, slots=True)
class EventMix:
    """Which events to draw: ``alert_share`` of them raise an alert (0 for none)."""

    alert_share: float = 0.002

    def draw(self, rng: random.Random) -> _Choice:
        """Pick one event kind."""
        if self.alert_share and rng.random() < self.alert_share:
            return rng.choices(ALERTING, cum_weights=_ALERTING_CUM)[0]
        return rng.choices(QUIET, cum_weights=_QUIET_CUM)[0]


class Homes:
    """``count`` simulated gateways, each numbering its own events from 0."""

    def __init__(self, count: int, *, prefix: str = "L", mix: EventMix | None = None) -> None:
        self.ids = [f"{prefix}{i:05d}" for i in range(count)]
        self.topics = [events_topic(h) for h in self.ids]
        self._seq = [0] * count
        self._mix = mix or EventMix()
        self._rng = random.Random(20261123)  # reproducible load
        self.sent = 0

    def batch(self, index: int, size: int, at: datetime | None = None) -> tuple[str, bytes]:
        """Return the topic and payload of ``size`` events from home ``index``."""
        home = self.ids[index]
        stamp = format_timestamp(at or datetime.now(UTC))
        seq = self._seq[index]
        items = []
        for k in range(size):
            _, device, type_, room, data = self._mix.draw(self._rng)
            items.append(
                _TEMPLATE.format(
                    id=uuid_utils.uuid7(),
                    home=home,
                    device=device,
                    type=type_,
                    at=stamp,
                    seq=seq + k,
                    room=room,
                    data=data,
                )
            )
        self._seq[index] = seq + size
        self.sent += size
        body = items[0] if size == 1 else "[" + ",".join(items) + "]"
        return self.topics[index], body.encode()

    def one(self, index: int, device: str, type_: str, room: str, data: dict[str, object]) -> bytes:
        """Return one envelope of a chosen kind from home ``index`` (for injected events)."""
        home = self.ids[index]
        seq = self._seq[index]
        self._seq[index] = seq + 1
        self.sent += 1
        return _TEMPLATE.format(
            id=uuid_utils.uuid7(),
            home=home,
            device=device,
            type=type_,
            at=format_timestamp(datetime.now(UTC)),
            seq=seq,
            room=room,
            data=json.dumps(data, separators=(",", ":")),
        ).encode()
