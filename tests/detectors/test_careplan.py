"""Care plans: defaults, validation, and loading from the config and a seed file."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from backend.careplan import CarePlan, Circle, HomeSettings, Polygon, TimeWindow, load_seed_file
from backend.config import load_backend_config
from protocol.config import ConfigError


def test_defaults_are_documented_values() -> None:
    plan = CarePlan()
    assert plan.timezone == "Asia/Shanghai"
    assert plan.night_window == TimeWindow(start=time(22), end=time(7))
    assert plan.active_hours == TimeWindow(start=time(7), end=time(22))
    assert (plan.bed_exit_return_min, plan.bathroom_dwell_min) == (20, 45)
    assert plan.inactivity_hours == 4
    assert plan.learned_inactivity.min_history_days == 14
    assert plan.learned_inactivity.window_days == 28
    assert plan.dementia is False
    assert plan.geofence is None


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        (TimeWindow(start=time(22), end=time(7)), [time(23), time(0), time(6, 59)], [time(7)]),
        (TimeWindow(start=time(7), end=time(22)), [time(7), time(21, 59)], [time(22), time(3)]),
    ],
)
def test_time_window_wraps_midnight(
    window: TimeWindow, inside: list[time], outside: list[time]
) -> None:
    assert all(window.contains(t) for t in inside)
    assert not any(window.contains(t) for t in outside)


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CarePlan(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="greater than 0"):
        CarePlan.model_validate({"bathroom_dwell_min": 0})
    with pytest.raises(ValueError, match="Extra inputs"):
        CarePlan.model_validate({"bathroom_dwel_min": 30})
    with pytest.raises(ValueError, match="window_days"):
        CarePlan.model_validate({"learned_inactivity": {"window_days": 7}})
    with pytest.raises(ValueError, match="at least 3"):
        CarePlan.model_validate({"geofence": {"type": "polygon", "points": [[0, 0], [1, 1]]}})


def test_geofence_shapes() -> None:
    circle = CarePlan.model_validate(
        {"geofence": {"type": "circle", "lat": 31.2, "lon": 121.4, "radius_m": 500}}
    ).geofence
    assert isinstance(circle, Circle)
    poly = CarePlan.model_validate(
        {"geofence": {"type": "polygon", "points": [[0, 0], [0, 1], [1, 1]]}}
    ).geofence
    assert isinstance(poly, Polygon)


def test_home_timezone_overrides_the_plan() -> None:
    home = HomeSettings.model_validate(
        {"id": "H1", "timezone": "Europe/Berlin", "care_plan": {"dementia": True}}
    )
    assert home.care_plan.timezone == "Europe/Berlin"
    assert home.care_plan.dementia


def test_config_and_seed_file_merge(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "default_care_plan": {"inactivity_hours": 6},
                "homes": [
                    {"id": "H1", "care_plan": {"bathroom_dwell_min": 30}},
                    {"id": "H2", "care_plan": {"dementia": True}},
                ],
            }
        )
    )
    cfg = tmp_path / "backend.toml"
    cfg.write_text(
        'demo = true\nseed_file = "seed.json"\n'
        '[[homes]]\nid = "H1"\ntimezone = "Europe/Paris"\n'
        "[homes.care_plan]\nbathroom_dwell_min = 20\n"
    )
    plans = load_backend_config(cfg).care_plans()
    assert plans.for_home("H1").bathroom_dwell_min == 20
    assert plans.for_home("H1").timezone == "Europe/Paris"
    assert plans.for_home("H2").dementia
    assert plans.for_home("H3").inactivity_hours == 6


def test_bad_seed_file_names_file_and_key(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("homes:\n  - id: H1\n    care_plan:\n      bed_exit_return_min: -1\n")
    with pytest.raises(ConfigError, match=r"seed\.yaml: homes\.0\.care_plan\.bed_exit_return_min"):
        load_seed_file(seed)
    dup = tmp_path / "dup.toml"
    dup.write_text('[[homes]]\nid = "H1"\n[[homes]]\nid = "H1"\n')
    with pytest.raises(ConfigError, match="listed twice"):
        load_seed_file(dup)
