"""Invariants across every shipped device profile, and rejection of invalid ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from device_profiles import (
    Frame,
    Profile,
    ProfileError,
    SourceKind,
    decode,
    framer_for,
    load_profile,
    load_registry,
    payload_for,
)
from device_profiles.registry import PROFILE_DIR
from device_profiles.schema import EventRule
from protocol import LIFE_SAFETY_TYPES, EventType, data_model_for

REQUIRED_PROFILES = {
    "aqara_mccgq11lm",
    "aqara_rtcgq11lm",
    "heiman_hs1sa",
    "heiman_hs1cg",
    "tuya_ts0215a_sos",
    "ev1527_door",
    "ev1527_pir",
    "ev1527_sos_pendant",
    "heiman_hs1eb",
    "aqara_sjcgq11lm",
    "heiman_hs2fd_ef1_3_0",
    "tuya_mir_he200_ty",
    "vitals_mat_line",
    "rtl433_honeywell_security",
    "rtl433_kerui_pir",
    "rtl433_gs558_smoke",
    "rtl433_fineoffset_wh55",
    "rtl433_generic_remote_sos",
}

#: What each rtl_433 profile must cover (issue: contact, PIR, smoke, water leak, panic).
RTL_433_KINDS = {
    EventType.CONTACT,
    EventType.MOTION,
    EventType.SMOKE,
    EventType.WATER_LEAK,
    EventType.SOS,
}


def _example_payload(profile: Profile, index: int) -> dict[str, Any]:
    example = profile.examples[index]
    if profile.source is SourceKind.SERIAL:
        assert profile.framing is not None
        if example.line is not None:
            raw = example.line.encode() + b"\r\n"
        else:
            assert example.frame_hex is not None, f"{profile.id}: serial example needs bytes"
            raw = bytes.fromhex(example.frame_hex)
        out = framer_for(profile.framing).feed(raw)
        assert len(out) == 1, f"{profile.id} example {index}: {out}"
        frame = out[0]
        assert isinstance(frame, Frame), f"{profile.id} example {index}: {frame}"
        return frame.fields
    assert example.payload is not None, f"{profile.id}: example {index} needs a payload"
    return example.payload


def _rule_accepts(rule: EventRule, data: dict[str, Any]) -> bool:
    return all(
        fmap.value is None or data.get(name) == fmap.value for name, fmap in rule.data.items()
    )


def test_registry_invariants() -> None:
    registry = load_registry()
    assert set(registry) >= REQUIRED_PROFILES
    files = {p.stem for p in PROFILE_DIR.rglob("*.yaml")}
    assert set(registry) == files, "ids must be unique and equal the file names"

    for pid, profile in registry.items():
        assert profile.id == pid
        expected_by_type: dict[str, list[dict[str, Any]]] = {}

        # Each example decodes exactly to its `expect`, in order, with no problems.
        for i, example in enumerate(profile.examples):
            decoded = decode(profile, _example_payload(profile, i))
            got = [{"type": str(e.type), "data": e.data} for e in decoded.events]
            assert got == example.expect, f"{pid} example {i} ({example.note})"
            assert decoded.problems == [], f"{pid} example {i}: {decoded.problems}"
            for event in example.expect:
                expected_by_type.setdefault(event["type"], []).append(event["data"])

        for r, rule in enumerate(profile.events):
            where = f"{pid} events[{r}] ({rule.type})"
            model = data_model_for(rule.type)
            required = {n for n, f in model.model_fields.items() if f.is_required()}
            assert required <= set(rule.data), f"{where}: misses {required - set(rule.data)}"

            # Every rule is exercised by an example, and its data survive
            # payload_for then decode unchanged.
            samples = [d for d in expected_by_type.get(rule.type, []) if _rule_accepts(rule, d)]
            assert samples, f"{where}: no example shows this rule"
            for data in samples:
                fields = payload_for(profile, rule.type, data)
                events = decode(profile, fields).events
                assert any(e.type == rule.type and e.data == data for e in events), (
                    f"{where}: {data} -> {fields} -> {events}"
                )

        if profile.source is SourceKind.RTL_433:
            assert profile.models, f"{pid}: name the rtl_433 model strings it decodes"
            for i, example in enumerate(profile.examples):
                assert example.payload is not None
                assert example.payload.get("model") in profile.models, f"{pid} example {i}"
        if profile.source is not SourceKind.ZIGBEE2MQTT:
            assert profile.repeat_window_s > 0, f"{pid}: radio repeats must be collapsed"
        if profile.life_safety:
            assert profile.event_types & LIFE_SAFETY_TYPES, f"{pid}: life_safety emits none"
        if profile.event_types & LIFE_SAFETY_TYPES:
            assert profile.life_safety, f"{pid}: emits life-safety events, mark it life_safety"


def test_momentary_rules_fire_on_every_press() -> None:
    registry = load_registry()
    button = registry["tuya_ts0215a_sos"]
    sos = [r for r in button.events if r.type == "sos"]
    assert [r.trigger for r in sos] == ["momentary"]
    contact = [r for r in registry["aqara_mccgq11lm"].events if r.type == "contact"]
    assert [r.trigger for r in contact] == ["state"]


def test_optional_field_is_null_when_missing() -> None:
    smoke = load_registry()["heiman_hs1sa"]
    decoded = decode(smoke, {"smoke": False, "battery_low": True})
    assert {"type": "battery", "data": {"percent": None, "low": True}} in [
        {"type": str(e.type), "data": e.data} for e in decoded.events
    ]
    fields = payload_for(smoke, EventType.BATTERY, {"percent": None, "low": True})
    assert fields == {"battery_low": True}


def test_bad_values_are_problems_not_exceptions() -> None:
    door = load_registry()["aqara_mccgq11lm"]
    decoded = decode(door, {"contact": "yes", "battery": "full"})
    assert decoded.events == []
    assert len(decoded.problems) == 2
    assert all("expected" in p for p in decoded.problems)


_VALID = """\
id: {id}
vendor: Test
model: T1
description: test device
source: zigbee2mqtt
power: battery
supervision: {{checkin_s: 60}}
events:
  - type: contact
    data:
      open: {{key: contact, invert: true}}
examples:
  - payload: {{contact: true}}
    expect: [{{type: contact, data: {{open: false}}}}]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_template_loads(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, "t1", _VALID.format(id="t1")))
    assert profile.event_types == {"contact"}


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("power: battery\n", "power: battery\ncolour: red\n", "colour"),
        (
            "open: {key: contact, invert: true}",
            "open: {key: contact, value: true}",
            "events.0.data.open",
        ),
        ("source: zigbee2mqtt\n", "source: serial\nframing: morse\n", "framing"),
        ("- type: contact", "- type: earthquake", "events.0.type"),
        ("open: {key: contact, invert: true}", "open: {key: contact, smell: 1}", "smell"),
        ("supervision: {checkin_s: 60}", "supervision: {checkin_s: -5}", "checkin_s"),
        ("power: battery\n", "power: battery\nlife_safety: yes please\n", "life_safety"),
    ],
)
def test_invalid_profile_names_file_and_key(tmp_path: Path, old: str, new: str, names: str) -> None:
    text = _VALID.format(id="t1")
    assert old in text
    path = _write(tmp_path, "t1", text.replace(old, new))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    assert names in message


def test_id_must_equal_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "other", _VALID.format(id="t1"))
    with pytest.raises(ProfileError, match="must equal the file name"):
        load_profile(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", "t1", _VALID.format(id="t1"))
    _write(tmp_path / "b", "t1", _VALID.format(id="t1"))
    with pytest.raises(ProfileError, match="duplicate profile id"):
        load_registry(tmp_path)


def test_not_yaml_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "t1", "id: [unclosed\n")
    with pytest.raises(ProfileError, match="cannot read YAML"):
        load_profile(path)


def test_rtl_433_profiles_cover_the_required_kinds() -> None:
    rtl = [p for p in load_registry().values() if p.source is SourceKind.RTL_433]
    covered = set().union(*(p.event_types for p in rtl))
    assert covered >= RTL_433_KINDS


def test_filters_never_rate_limit_life_safety_types(tmp_path: Path) -> None:
    text = _VALID.format(id="t1") + "filters:\n  min_interval_s: {smoke: 30}\n"
    with pytest.raises(ProfileError, match="never rate limited"):
        load_profile(_write(tmp_path, "t1", text))
    for profile in load_registry().values():
        assert not set(profile.filters.min_interval_s) & LIFE_SAFETY_TYPES


def test_occupancy_timeout_needs_a_motion_rule(tmp_path: Path) -> None:
    text = _VALID.format(id="t1") + "filters: {occupancy_timeout_s: 90}\n"
    with pytest.raises(ProfileError, match="needs a motion rule"):
        load_profile(_write(tmp_path, "t1", text))
