"""The scenario library: seeded cohorts of simulated lives with ground-truth incidents."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import Envelope, EnvelopeError, EventType, decode_events_payload, encode_batch
from protocol.events import (
    BedData,
    ContactData,
    LocationData,
    MotionData,
    PresenceData,
)
from simulators import SimulatorError
from simulators.life import (
    ROOMS,
    SCENARIOS,
    Cohort,
    Incident,
    Kit,
    Persona,
    generate_cohort,
    kit_devices,
)
from simulators.life._cohort import _inside

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    """Big enough that every scenario occurs."""
    return generate_cohort(seed=7, residents=45, days=24, start=START)


@pytest.fixture(scope="module")
def streams(cohort: Cohort) -> dict[str, list[Envelope]]:
    """Each home's envelopes, generated once for the module."""
    return _by_home(cohort.events())


def _by_home(events: Iterable[Envelope]) -> dict[str, list[Envelope]]:
    homes: dict[str, list[Envelope]] = defaultdict(list)
    for e in events:
        homes[e.home].append(e)
    return homes


def _persona(cohort: Cohort, home: str) -> Persona:
    return next(p for p in cohort.personas if p.home == home)


def _between(events: list[Envelope], lo: datetime, hi: datetime) -> list[Envelope]:
    return [e for e in events if lo <= e.at < hi]


def _incidents(cohort: Cohort, scenario: str) -> list[Incident]:
    found = [i for i in cohort.incidents if i.scenario == scenario]
    assert found, f"the cohort has no {scenario}"
    return found


def test_same_seed_same_cohort_other_seed_other_cohort() -> None:
    a = generate_cohort(seed=3, residents=4, days=4, start=START)
    b = generate_cohort(seed=3, residents=4, days=4, start=START)
    c = generate_cohort(seed=4, residents=4, days=4, start=START)
    first = [e.model_dump_json() for e in a.events()]
    assert first == [e.model_dump_json() for e in b.events()]
    assert first == [e.model_dump_json() for e in a.events()]  # a second pass is identical
    assert a.incidents == b.incidents
    assert a.personas == b.personas
    assert first != [e.model_dump_json() for e in c.events()]


def test_envelopes_round_trip_through_the_decoder() -> None:
    cohort = generate_cohort(seed=11, residents=6, days=3, start=START)
    events = list(cohort.events())
    assert len(events) > 1000
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        decoded = decode_events_payload(encode_batch(chunk))
        assert not [d for d in decoded if isinstance(d, EnvelopeError)]
        assert decoded == chunk


def test_time_order_seq_and_ids(cohort: Cohort) -> None:
    events = list(cohort.events())
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    lo, hi = cohort.period
    assert lo <= events[0].at
    assert events[-1].at < hi
    assert len({e.id for e in events}) == len(events)
    for e in events[:5000]:
        assert e.id.version == 7
        assert e.id.int >> 80 == int(e.at.timestamp() * 1000)
    for home, mine in _by_home(events).items():
        assert [e.seq for e in mine] == list(range(1, len(mine) + 1)), home
    for home in cohort.homes[:3]:
        assert list(cohort.events(home)) == [e for e in events if e.home == home]


def test_events_only_from_the_homes_kit(cohort: Cohort, streams: dict[str, list[Envelope]]) -> None:
    kits = {p.home: {d.device: d for d in p.devices} for p in cohort.personas}
    seen: dict[str, set[str]] = defaultdict(set)
    for e in itertools.chain.from_iterable(streams.values()):
        spec = kits[e.home].get(e.device)
        assert spec is not None, (e.home, e.device)
        assert e.room == spec.room
        seen[e.home].add(e.device)
        if e.type in (EventType.BATTERY, EventType.DEVICE_STATUS):
            assert spec.battery
        elif e.type is EventType.FALL:
            assert e.device == "watch"
        else:
            assert e.type is spec.type, (e.device, e.type)
    minimal = [p for p in cohort.personas if p.kit is Kit.MINIMAL]
    assert minimal
    for p in minimal:
        activity = {"bed", "seat_living", "door_front"}
        assert seen[p.home] - {"pendant", "smoke_kitchen", "watch"} <= activity
        assert activity <= seen[p.home]


def test_kits_differ_as_documented() -> None:
    full = {d.device for d in kit_devices(Kit.FULL, watch=True, gas=True)}
    assert {f"pir_{room}" for room in ROOMS} <= full
    assert {"door_front", "door_bathroom", "bed", "bed_vitals", "watch", "gas_kitchen"} <= full
    assert {"radar_bathroom", "radar_living"} <= full
    minimal = {d.device for d in kit_devices(Kit.MINIMAL, watch=False, gas=True)}
    assert minimal == {"bed", "seat_living", "door_front", "pendant", "smoke_kitchen"}
    partial = {d.device for d in kit_devices(Kit.PARTIAL, watch=False, gas=False)}
    assert "pir_bathroom" in partial
    assert not {"pir_hall", "radar_living"} & partial


def test_every_scenario_occurs_with_a_valid_kind(cohort: Cohort) -> None:
    assert {i.scenario for i in cohort.incidents} == set(SCENARIOS)
    lo, _ = cohort.period
    for incident in cohort.incidents:
        assert (
            incident.kind == SCENARIOS[incident.scenario][0] or incident.scenario == "battery_low"
        )
        assert lo <= incident.onset <= incident.until
        assert incident.detected_by(incident.kind, incident.onset)
        assert not incident.detected_by(incident.kind, incident.onset - timedelta(seconds=1))
        assert not incident.detected_by("sos" if incident.kind != "sos" else "gas", incident.onset)


def test_bathroom_fall_nothing_moves_outside_the_bathroom(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for incident in _incidents(cohort, "bathroom_fall"):
        events = streams[incident.home]
        during = _between(events, incident.onset, incident.until)
        for e in during:
            if e.type in (EventType.MOTION, EventType.PRESENCE, EventType.BED, EventType.CONTACT):
                assert e.room == "bathroom", e
                # Sensors only fall quiet: a PIR's occupancy timeout, the radar still sees her.
                assert not (isinstance(e.data, MotionData) and e.data.motion)
                assert not isinstance(e.data, ContactData)
        # She went in: the last activity before the fall is in the bathroom, if it is seen.
        before = [
            e
            for e in events
            if e.at < incident.onset
            and (isinstance(e.data, ContactData) or e.data == MotionData(motion=True))
        ]
        if before and _persona(cohort, incident.home).kit is not Kit.MINIMAL:
            assert before[-1].room == "bathroom"


def test_night_fall_follows_a_bed_exit_with_no_return(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for incident in _incidents(cohort, "night_fall"):
        events = streams[incident.home]
        bed = [e for e in events if e.device == "bed" and e.at <= incident.onset]
        assert isinstance(bed[-1].data, BedData)
        assert not bed[-1].data.occupied
        assert incident.onset - bed[-1].at < timedelta(minutes=3)
        for e in _between(events, incident.onset, incident.until):
            assert not (isinstance(e.data, MotionData) and e.data.motion), e
            assert not (isinstance(e.data, BedData) and e.data.occupied), e
            assert not (isinstance(e.data, PresenceData) and e.data.present), e
            assert e.type is not EventType.CONTACT


def test_immediate_incidents_have_their_event_at_onset(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    types = {
        "smoke": EventType.SMOKE,
        "gas": EventType.GAS,
        "water_leak": EventType.WATER_LEAK,
        "sos": EventType.SOS,
        "wearable_fall": EventType.FALL,
    }
    for scenario, event_type in types.items():
        for incident in _incidents(cohort, scenario):
            events = streams[incident.home]
            at_onset = [e for e in events if e.type is event_type and e.at == incident.onset]
            assert len(at_onset) == 1, (scenario, incident)


def test_night_wandering_opens_the_front_door_at_night(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for incident in _incidents(cohort, "night_wandering"):
        assert _persona(cohort, incident.home).dementia
        plan = cohort.plans[incident.home]
        local = incident.onset.astimezone(plan.zone).time()
        assert plan.night_window.contains(local)
        door = [
            e for e in streams[incident.home] if e.device == "door_front" and e.at == incident.onset
        ]
        assert len(door) == 1
        assert isinstance(door[0].data, ContactData)
        assert door[0].data.open


def test_geofence_breach_onset_is_the_first_fix_outside(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for incident in _incidents(cohort, "geofence_breach"):
        fence = cohort.plans[incident.home].geofence
        assert fence is not None
        fixes = [
            e
            for e in streams[incident.home]
            if e.type is EventType.LOCATION and e.at <= incident.onset
        ]
        outside = [
            e
            for e in fixes
            if isinstance(e.data, LocationData) and not _inside(fence, e.data.lat, e.data.lon)
        ]
        assert outside
        assert outside[0].at == incident.onset


def test_ordinary_outings_stay_inside_the_geofence(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    breaches = {(i.home, i.until) for i in cohort.incidents if i.scenario == "geofence_breach"}
    for p in cohort.personas:
        fence = cohort.plans[p.home].geofence
        if fence is None:
            continue
        windows = [(i.onset, i.until) for i in cohort.incidents if (i.home, i.until) in breaches]
        for e in streams[p.home]:
            if e.type is not EventType.LOCATION or any(lo <= e.at <= hi for lo, hi in windows):
                continue
            assert isinstance(e.data, LocationData)
            inside = _inside(fence, e.data.lat, e.data.lon)
            assert inside or any(
                i.home == p.home and i.onset - timedelta(hours=4) <= e.at <= i.until
                for i in cohort.incidents
                if i.scenario == "geofence_breach"
            )


def test_dying_battery_reports_low_then_falls_silent(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for low in _incidents(cohort, "battery_low"):
        dead = next(
            i for i in cohort.incidents if i.scenario == "battery_dead" and i.home == low.home
        )
        events = streams[low.home]
        first_low = next(e for e in events if e.type is EventType.BATTERY and e.at == low.onset)
        device = first_low.device
        silent = [e for e in _between(events, dead.onset, dead.until) if e.device == device]
        assert [e.type for e in silent] == [EventType.DEVICE_STATUS]
        assert silent[0].at - dead.onset >= timedelta(hours=24)


def test_illness_keeps_the_resident_in_bed_past_the_usual_wake(
    cohort: Cohort, streams: dict[str, list[Envelope]]
) -> None:
    for incident in _incidents(cohort, "illness"):
        if _persona(cohort, incident.home).kit is Kit.MINIMAL:
            continue
        early = _between(
            streams[incident.home],
            incident.onset + timedelta(minutes=60),
            incident.onset + timedelta(minutes=61),
        )
        assert not [e for e in early if e.device in ("pir_kitchen", "seat_living")]


def test_real_lives_are_in_the_cohort(cohort: Cohort, streams: dict[str, list[Envelope]]) -> None:
    assert any(p.late_sleeper for p in cohort.personas)
    assert any(p.sitter for p in cohort.personas)
    assert any(p.bather for p in cohort.personas)
    assert any(p.dementia for p in cohort.personas)
    late = next(p for p in cohort.personas if p.late_sleeper)
    plan = cohort.plans[late.home]
    going_to_bed = [
        e.at.astimezone(plan.zone).hour
        for e in streams[late.home]
        if isinstance(e.data, BedData) and e.data.occupied
    ]
    # Mostly into bed between 1 and 3 a.m. (night toilet visits add other hours).
    assert sum(1 <= h <= 3 for h in going_to_bed) >= cohort.days * 0.8


def test_plans_follow_the_personas(cohort: Cohort) -> None:
    assert set(cohort.plans) == set(cohort.homes)
    for p in cohort.personas:
        plan = cohort.plans[p.home]
        assert plan.dementia == p.dementia
        assert (plan.geofence is not None) == p.wears_watch
        assert plan.usual_wake_time is not None


def test_bad_cohort_sizes_are_refused() -> None:
    with pytest.raises(SimulatorError):
        generate_cohort(seed=1, residents=0, days=3, start=START)
    with pytest.raises(SimulatorError):
        generate_cohort(seed=1, residents=1, days=0, start=START)
    with pytest.raises(SimulatorError):
        list(generate_cohort(seed=1, residents=1, days=1, start=START).events("H9999"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32), days=st.integers(min_value=1, max_value=6))
def test_any_seed_gives_valid_ordered_streams(seed: int, days: int) -> None:
    cohort = generate_cohort(seed=seed, residents=3, days=days, start=START)
    events = list(cohort.events())
    assert events
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    lo, hi = cohort.period
    assert lo <= events[0].at
    assert events[-1].at < hi
    assert hi - lo == timedelta(days=days)
    assert lo.tzinfo is UTC
    for mine in _by_home(events).values():
        assert [e.seq for e in mine] == list(range(1, len(mine) + 1))
        # Binary sensors alternate: never two "on" or two "off" reports in a row.
        last: dict[str, bool] = {}
        for e in mine:
            data = e.data
            state = None
            if isinstance(data, MotionData):
                state = data.motion
            elif isinstance(data, PresenceData):
                state = data.present
            elif isinstance(data, BedData):
                state = data.occupied
            elif isinstance(data, ContactData):
                state = data.open
            if state is not None:
                assert last.get(e.device, not state) != state, (e.device, e.at)
                last[e.device] = state
