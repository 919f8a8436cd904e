"""Filters in virtual time: chatter, rate limits, battery, radio repeats and PIR occupancy."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_profiles import Trigger
from device_profiles.schema import Filters
from gateway.filters import FilterMemory, admit, is_repeat, next_deadline, repeat_key, tick
from gateway.pipeline import Reading
from protocol import LIFE_SAFETY_TYPES, EventType
from tests.gateway._helpers import at


def _r(kind: EventType, data: dict[str, Any], t: float, device: str = "d1") -> Reading:
    return Reading(device, kind, data, at(t), "hall")


def _contact(is_open: bool, t: float) -> Reading:
    return _r(EventType.CONTACT, {"open": is_open}, t)


def test_debounce_forwards_the_first_change_and_delivers_the_settled_state() -> None:
    mem, f = FilterMemory(), Filters(debounce_s=2)
    # A flapping reed switch: open, close, open, close within a second.
    out = admit(mem, f, _contact(True, 0.0), Trigger.STATE, at(0.0))
    assert [r.data for r in out] == [{"open": True}]
    for i, state in enumerate([False, True, False]):
        t = 0.2 * (i + 1)
        assert admit(mem, f, _contact(state, t), Trigger.STATE, at(t)) == []
    # Quiet period counts from the last change: nothing before 0.6 + 2 s.
    assert next_deadline(mem) == at(2.6)
    assert tick(mem, at(2.5)) == []
    settled = tick(mem, at(2.6))
    assert [(r.data, r.at) for r in settled] == [({"open": False}, at(0.6))]
    assert next_deadline(mem) is None
    # Later changes pass at once again.
    assert len(admit(mem, f, _contact(True, 10), Trigger.STATE, at(10))) == 1


def test_debounce_drops_chatter_that_ends_where_it_started() -> None:
    mem, f = FilterMemory(), Filters(debounce_s=2)
    admit(mem, f, _contact(True, 0), Trigger.STATE, at(0))
    admit(mem, f, _contact(False, 0.5), Trigger.STATE, at(0.5))
    admit(mem, f, _contact(True, 1.0), Trigger.STATE, at(1.0))
    assert tick(mem, at(5)) == []


def test_rate_limit_keeps_the_latest_value_and_never_loses_it() -> None:
    mem = FilterMemory()
    f = Filters(min_interval_s={EventType.VITALS: 60})
    vit = [
        _r(EventType.VITALS, {"heart_rate": 60 + i, "respiration_rate": 14}, 5 * i)
        for i in range(5)
    ]
    forwarded = [r for v in vit for r in admit(mem, f, v, Trigger.STATE, v.at)]
    assert [r.data["heart_rate"] for r in forwarded] == [60]
    assert next_deadline(mem) == at(60)
    late = tick(mem, at(60))
    assert [r.data["heart_rate"] for r in late] == [64]
    # The interval starts again after the release.
    again = _r(EventType.VITALS, {"heart_rate": 70, "respiration_rate": 14}, 61)
    assert admit(mem, f, again, Trigger.STATE, at(61)) == []
    assert [r.data["heart_rate"] for r in tick(mem, at(120))] == [70]


@pytest.mark.parametrize("kind", sorted(LIFE_SAFETY_TYPES))
def test_life_safety_always_passes_at_once(kind: EventType) -> None:
    with pytest.raises(ValueError, match="never rate limited"):
        Filters(min_interval_s={kind: 30})
    mem, f = FilterMemory(), Filters(debounce_s=60)
    samples: dict[EventType, dict[str, Any]] = {
        EventType.SOS: {"source": "button"},
        EventType.FALL: {"source": "radar", "confidence": None},
        EventType.SMOKE: {"alarm": True},
        EventType.GAS: {"alarm": True},
    }
    data = samples[kind]
    outs = [admit(mem, f, _r(kind, data, t), Trigger.MOMENTARY, at(t)) for t in (0, 0.1, 0.2)]
    assert [len(o) for o in outs] == [1, 1, 1]
    assert next_deadline(mem) is None


def test_state_life_safety_still_uses_the_change_filter() -> None:
    mem, f = FilterMemory(), Filters()
    smoke = _r(EventType.SMOKE, {"alarm": True}, 0)
    assert len(admit(mem, f, smoke, Trigger.STATE, at(0))) == 1
    # A heartbeat repeating the cached alarm is not a new alarm.
    assert admit(mem, f, _r(EventType.SMOKE, {"alarm": True}, 60), Trigger.STATE, at(60)) == []


def _battery(percent: int | None, low: bool, t: float) -> Reading:
    return _r(EventType.BATTERY, {"percent": percent, "low": low}, t)


def test_battery_passes_on_real_change_threshold_or_daily() -> None:
    mem, f = FilterMemory(), Filters()
    day = 86_400

    def passes(percent: int | None, low: bool, t: float) -> bool:
        return bool(admit(mem, f, _battery(percent, low, t), Trigger.STATE, at(t)))

    assert passes(91, False, 0)
    assert not passes(90, False, 60)
    assert not passes(87, False, 120)
    assert passes(86, False, 180)  # five points from the last forwarded 91
    assert passes(85, False, 180 + day)  # the daily report
    assert passes(14, True, 200 + day)  # crossing the low threshold
    assert not passes(14, True, 300 + day)


def test_radio_repeats_collapse_but_deliberate_presses_do_not() -> None:
    mem = FilterMemory()
    key = repeat_key("serial", "rf", "7E1105", {"code": "7E1105", "key": 3})
    burst = [0.0, 0.08, 0.16, 0.24]
    assert [is_repeat(mem, key, 1.0, at(t)) for t in burst] == [False, True, True, True]
    # A second deliberate press three seconds later is a new event.
    assert not is_repeat(mem, key, 1.0, at(3.0))
    other = repeat_key("serial", "rf", "7E1105", {"code": "7E1105", "key": 6})
    assert not is_repeat(mem, other, 1.0, at(3.05))
    # rtl_433 copies differ only in their reception metadata.
    a = repeat_key("rtl_433", None, "M:1", {"model": "M", "id": 1, "rssi": -3.1, "time": "a"})
    b = repeat_key("rtl_433", None, "M:1", {"model": "M", "id": 1, "rssi": -7.9, "time": "b"})
    assert a == b
    assert not is_repeat(mem, key, 0.0, at(3.1))


def test_radio_pir_gets_the_same_occupancy_semantics_as_zigbee() -> None:
    mem, f = FilterMemory(), Filters(occupancy_timeout_s=90)
    motion = [_r(EventType.MOTION, {"motion": True}, t) for t in (0, 1, 2, 30, 100)]
    forwarded = [r for m in motion for r in admit(mem, f, m, Trigger.MOMENTARY, m.at)]
    # Re-triggering every second while occupied yields one event.
    assert [r.at for r in forwarded] == [at(0)]
    # The last detection at t=100 pushes the clear to t=190.
    assert next_deadline(mem) == at(190)
    assert tick(mem, at(189)) == []
    cleared = tick(mem, at(200))
    assert [(r.data, r.at, r.room) for r in cleared] == [({"motion": False}, at(190), "hall")]
    again = admit(mem, f, _r(EventType.MOTION, {"motion": True}, 300), Trigger.MOMENTARY, at(300))
    assert [r.data for r in again] == [{"motion": True}]


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=5.0), st.booleans()), min_size=1, max_size=40
    ),
    debounce=st.floats(min_value=0.1, max_value=10.0),
    interval=st.floats(min_value=0.0, max_value=10.0),
)
def test_the_final_state_is_never_lost(
    steps: list[tuple[float, bool]], debounce: float, interval: float
) -> None:
    """Whatever the chatter, after the last deadline the last forwarded state is the true one."""
    f = Filters(
        debounce_s=debounce,
        min_interval_s={EventType.CONTACT: interval} if interval > 0 else {},
    )
    mem = FilterMemory()
    t = 0.0
    sent: list[Reading] = []
    for gap, state in steps:
        t += gap
        sent += tick(mem, at(t))
        sent += admit(mem, f, _contact(state, t), Trigger.STATE, at(t))
    while (due := next_deadline(mem)) is not None:
        sent += tick(mem, due)
    assert sent, "the first reading always passes"
    assert sent[-1].data == {"open": steps[-1][1]}
    # Nothing is forwarded twice in a row with the same state.
    assert all(a.data != b.data for a, b in itertools.pairwise(sent))
