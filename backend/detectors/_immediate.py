"""The immediate-alarm detector: events that are alarms in themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from backend.alerts import PRIORITY_OF, AlertKind, Trigger
from protocol import Envelope, EventType
from protocol.events import AlarmData, EventData, FallData

__all__ = ["IMMEDIATE_RULES", "SEAM_RULES", "ImmediateRule", "ImmediateState", "detect_immediate"]


@dataclass(frozen=True, slots=True)
class ImmediateRule:
    """An event type that raises ``kind`` whenever ``fires`` holds for its data."""

    event_type: EventType
    kind: AlertKind
    fires: Callable[[EventData], bool]
    reason: str


def _always(_data: EventData) -> bool:
    return True


def _alarm(data: EventData) -> bool:
    return isinstance(data, AlarmData) and data.alarm


def _fall(data: EventData) -> bool:
    # A wearable or radar that reports a fall has already applied its own threshold.
    return isinstance(data, FallData)


IMMEDIATE_RULES: tuple[ImmediateRule, ...] = (
    ImmediateRule(EventType.SOS, AlertKind.SOS, _always, "SOS pressed"),
    ImmediateRule(EventType.SMOKE, AlertKind.SMOKE, _alarm, "smoke alarm"),
    ImmediateRule(EventType.GAS, AlertKind.GAS, _alarm, "gas alarm"),
)
"""The rules in force. ``fall`` and ``water_leak`` are left to later detectors (care-plan aware)."""

SEAM_RULES: tuple[ImmediateRule, ...] = (
    ImmediateRule(EventType.FALL, AlertKind.FALL, _fall, "fall reported"),
    ImmediateRule(EventType.WATER_LEAK, AlertKind.WATER_LEAK, _alarm, "water leak"),
)


@dataclass(frozen=True, slots=True)
class ImmediateState:
    """The detector's state: only the rules, since an immediate alarm needs no history."""

    rules: tuple[ImmediateRule, ...] = IMMEDIATE_RULES


def detect_immediate(
    state: ImmediateState, event: Envelope, now: datetime
) -> tuple[ImmediateState, list[Trigger]]:
    """Return the triggers ``event`` raises; ``now`` is unused by immediate rules."""
    del now
    triggers = [
        Trigger(
            home=event.home,
            kind=rule.kind,
            priority=PRIORITY_OF[rule.kind],
            event_id=event.id,
            at=event.at,
            reason=f"{rule.reason} on device {event.device}",
        )
        for rule in state.rules
        if rule.event_type == event.type and rule.fires(event.data)
    ]
    return state, triggers
