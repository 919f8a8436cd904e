"""Each detector in virtual time: the incident, and the normal day that looks like it."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from backend.alerts import Priority
from backend.careplan import CarePlan
from backend.detectors import HomeState, fire, state_from_doc, state_to_doc
from tests.detectors._home import VirtualHome


def _evening_in_bed(h: VirtualHome) -> None:
    h.at(0, 21, 30)
    h.motion("bedroom")
    h.at(0, 22, 0).send("bed", occupied=True)


# -- immediate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "data", "kind"),
    [
        ("sos_button", {"source": "button"}, "sos"),
        ("smoke_kitchen", {"alarm": True}, "smoke"),
    ],
)
def test_immediate_alarms(device: str, data: dict[str, Any], kind: str) -> None:
    h = VirtualHome()
    h.at(0, 10)
    event = h.send(device, **data)
    assert [(f.kind.value, f.event_id, f.priority) for f in h.findings] == [
        (kind, event.id, Priority.LIFE_THREATENING)
    ]


def test_smoke_clearing_raises_nothing_and_clears_nothing() -> None:
    h = VirtualHome()
    h.at(0, 10).send("smoke_kitchen", alarm=False)
    assert h.findings == []


def test_tamper_on_a_life_safety_device_is_urgent() -> None:
    h = VirtualHome()
    h.at(0, 10).send("smoke_kitchen", alarm=False)
    tamper = h.send("smoke_kitchen", as_type="tamper", tampered=True)
    assert [(f.kind.value, f.priority, f.event_id) for f in h.findings] == [
        ("tamper", Priority.URGENT, tamper.id)
    ]
    h.send("smoke_kitchen", as_type="tamper", tampered=False)
    assert h.kinds("clear") == ["tamper"]


def test_tamper_on_other_devices_is_maintenance() -> None:
    h = VirtualHome()
    h.at(0, 10).send("pir_hall", as_type="tamper", tampered=True)
    assert [(f.kind.value, f.priority) for f in h.findings] == [("tamper", Priority.MAINTENANCE)]


# -- suspected fall: bathroom dwell -----------------------------------------------------------


def test_bathroom_dwell_without_exit_is_a_suspected_fall() -> None:
    h = VirtualHome(CarePlan(bathroom_dwell_min=45))
    h.at(0, 9)
    h.motion("kitchen")
    h.at(0, 10).send("door_bathroom", open=True)
    entry = h.send("pir_bathroom", motion=True)
    h.after(1).send("pir_bathroom", motion=False)  # the fall: then nothing moves
    h.after(44)
    assert h.kinds() == []
    h.after(1)
    [alert] = h.findings
    assert alert.kind.value == "fall_suspected"
    assert alert.detector == "bathroom"
    assert alert.at == h.now
    assert alert.event_id is None
    assert alert.cause is not None
    assert entry.id != alert.cause  # armed by the last movement seen, the PIR clearing


def test_long_bath_with_the_pir_still_firing_is_normal() -> None:
    h = VirtualHome()
    h.at(0, 19).send("door_bathroom", open=True)
    for _ in range(20):  # 80 minutes of a bath, the PIR seeing movement every few minutes
        h.send("pir_bathroom", motion=True)
        h.after(1.5).send("pir_bathroom", motion=False)
        h.after(2.5)
    h.send("door_bathroom", open=True)
    h.motion("hall")
    h.after(120)
    assert "fall_suspected" not in h.kinds()


def test_bathroom_exit_by_motion_elsewhere_disarms() -> None:
    h = VirtualHome()
    h.at(0, 10)
    h.motion("bathroom")
    h.after(3)
    h.motion("kitchen")
    h.after(60)
    assert h.by("bathroom") == []


def test_bathroom_door_only_home_tells_entry_and_exit() -> None:
    h = VirtualHome(CarePlan(bathroom_dwell_min=30))
    h.at(0, 10).send("door_bathroom", open=True)
    h.after(0.2).send("door_bathroom", open=False)
    h.after(10).send("door_bathroom", open=True)  # leaves
    h.after(60)
    assert h.by("bathroom") == []
    h.send("door_bathroom", open=True)  # enters again, and stays
    h.after(31)
    assert len(h.by("bathroom")) == 1


# -- suspected fall: night bed exit ---------------------------------------------------------


def test_night_bed_exit_without_return_is_a_suspected_fall() -> None:
    h = VirtualHome()
    _evening_in_bed(h)
    h.at(1, 3, 0).send("bed", occupied=False)
    h.after(0.5).send("pir_hall", motion=True)  # falls in the hall, then nothing
    h.after(19.9)
    assert h.by("bed_exit") == []
    h.after(0.2)
    assert [f.kind.value for f in h.by("bed_exit")] == ["fall_suspected"]


def test_night_toilet_visit_is_normal() -> None:
    h = VirtualHome()
    _evening_in_bed(h)
    h.at(1, 2, 0).send("bed", occupied=False)
    h.after(0.5)
    h.motion("bathroom")
    h.after(6)
    h.motion("bathroom")
    h.after(2).send("bed", occupied=True)
    h.at(1, 7)
    assert h.kinds() == []


def test_kitchen_snack_at_night_then_back_in_the_bedroom_is_normal() -> None:
    h = VirtualHome()
    _evening_in_bed(h)
    h.at(1, 1, 0).send("bed", occupied=False)
    for minute in range(0, 40, 5):  # 40 minutes in the kitchen, moving about
        h.at(1, 1, minute)
        h.motion("kitchen")
    h.after(2)
    h.motion("bedroom")
    h.after(5).send("bed", occupied=True)
    h.at(1, 6)
    assert h.kinds() == []


def test_getting_up_just_before_the_night_ends_is_the_morning() -> None:
    h = VirtualHome()  # night window 22:00-07:00, 20 min to return
    _evening_in_bed(h)
    h.at(1, 6, 50).send("bed", occupied=False)  # up; nothing to see for a while
    h.at(1, 7, 30)
    assert h.by("bed_exit") == []


def test_bed_exit_by_day_is_not_watched() -> None:
    h = VirtualHome()
    h.at(0, 13).send("bed", occupied=True)  # a nap
    h.at(0, 14).send("bed", occupied=False)
    h.after(60)
    assert h.by("bed_exit") == []


# -- suspected fall: radar presence without motion --------------------------------------------


def test_radar_presence_without_motion_is_a_suspected_fall() -> None:
    h = VirtualHome(CarePlan(radar_still_min=30))
    h.at(0, 10).send("radar_bathroom", present=True)
    h.after(30)
    assert [f.detector for f in h.findings] == ["still"]


def test_radar_presence_with_motion_is_normal() -> None:
    h = VirtualHome(CarePlan(radar_still_min=30))
    h.at(0, 10).send("radar_bathroom", present=True)
    for _ in range(5):
        h.after(10)
        h.motion("bathroom")
    h.send("radar_bathroom", present=False)
    h.after(60)
    assert h.by("still") == []


# -- inactivity -----------------------------------------------------------------------------


def test_no_activity_for_hours_in_active_hours_is_inactivity() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=4, learned_inactivity={"enabled": False}))
    h.at(0, 9)
    h.motion("living")
    h.at(0, 12, 59)
    assert h.by("inactivity") == []
    h.at(0, 13, 0)
    assert [(f.kind.value, f.at) for f in h.by("inactivity")] == [("inactivity", h.now)]


def test_inactivity_counts_only_active_hours() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=4, learned_inactivity={"enabled": False}))
    h.at(0, 20)
    h.motion("living")  # then silence: 2 h of active time tonight, 2 more tomorrow
    h.at(1, 8, 59)
    assert h.by("inactivity") == []
    h.at(1, 9, 2)
    assert len(h.by("inactivity")) == 1


def test_going_out_is_not_inactivity_and_the_return_restarts_it() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=2, learned_inactivity={"enabled": False}))
    h.at(0, 9)
    h.motion("hall")
    h.after(1).send("door_front", open=True)
    h.after(0.2).send("door_front", open=False)
    h.at(0, 16)  # out all day
    assert h.state.away
    assert h.by("inactivity") == []
    h.send("door_front", open=True)
    h.after(0.2).send("door_front", open=False)
    h.after(1)
    h.motion("hall")
    assert not h.state.away
    h.after(121)
    assert len(h.by("inactivity")) == 1


def test_a_nap_in_bed_is_not_inactivity() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=2, learned_inactivity={"enabled": False}))
    h.at(0, 12)
    h.motion("bedroom")
    h.after(1).send("bed", occupied=True)
    h.at(0, 15, 30).send("bed", occupied=False)
    h.after(30)
    assert h.by("inactivity") == []


def test_sitting_in_a_chair_all_afternoon_is_not_inactivity() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=2, learned_inactivity={"enabled": False}))
    h.at(0, 12).send("seat_living", present=True)
    h.at(0, 17, 30).send("seat_living", present=False)
    h.after(1)
    h.motion("kitchen")
    assert h.kinds() == []


def test_a_collapse_in_the_chair_is_inactivity_after_the_presence_limit() -> None:
    plan = CarePlan(presence_still_hours=6, learned_inactivity={"enabled": False})
    h = VirtualHome(plan)
    h.at(0, 11).send("seat_living", present=True)
    h.at(0, 16, 59)
    assert h.kinds() == []
    h.at(0, 17, 1)
    assert [f.reason for f in h.by("inactivity")] == [
        "no activity for 6 h of active hours while seated"
    ]


def test_a_radar_clearing_after_everyone_left_does_not_keep_the_home_occupied() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=2, learned_inactivity={"enabled": False}))
    h.at(0, 9).send("radar_bathroom", present=True)
    h.after(1).send("door_front", open=True)
    h.after(0.2).send("door_front", open=False)
    h.after(0.5).send("radar_bathroom", present=False)
    h.after(15)
    assert h.state.away
    h.at(0, 18)
    assert h.kinds() == []


def test_a_care_visit_suppresses_inactivity() -> None:
    h = VirtualHome(CarePlan(inactivity_hours=2, learned_inactivity={"enabled": False}))
    h.at(0, 9)
    h.motion("living")
    h.after(30)
    h.visit("v1", active=True)
    h.at(0, 12)
    assert h.by("inactivity") == []
    h.visit("v1", active=False)
    h.after(119)
    assert h.by("inactivity") == []
    h.after(2)
    assert len(h.by("inactivity")) == 1


def test_learned_inactivity_alerts_on_an_improbable_silence() -> None:
    plan = CarePlan(
        inactivity_hours=12,
        learned_inactivity={"min_history_days": 14, "improbability": 1e-3},
    )
    h = VirtualHome(plan)
    for day in range(15):  # active every hour from 07:00 to 21:00
        for hour in range(7, 22):
            h.at(day, hour, 10)
            h.motion("kitchen")
    h.at(15, 7, 10)
    h.motion("kitchen")  # then silence from 07:11 on the 16th day
    h.at(15, 9, 0)
    assert h.by("learned") == []
    h.at(15, 12, 0)
    [alert] = h.by("learned")
    # -ln(1e-3) = 6.9 expected active hours at a rate of ln(16) = 2.77 per hour: ~2.5 h.
    assert (
        timedelta(hours=2)
        < alert.at - (h.now - timedelta(hours=4, minutes=49))
        < timedelta(hours=3)
    )


def test_learned_inactivity_waits_for_enough_history() -> None:
    plan = CarePlan(inactivity_hours=12, learned_inactivity={"min_history_days": 14})
    h = VirtualHome(plan)
    for day in range(5):
        for hour in range(7, 22):
            h.at(day, hour, 10)
            h.motion("kitchen")
    h.at(6, 7, 0)
    assert h.by("learned") == []


def test_morning_check_late_sleeper_and_not_up() -> None:
    late = CarePlan(
        usual_wake_time=time(12, 0),
        morning_check_grace_hours=2,
        active_hours={"start": "12:00", "end": "02:00"},
        night_window={"start": "02:00", "end": "12:00"},
    )
    h = VirtualHome(late)
    h.at(0, 1, 50)
    h.motion("bedroom")
    h.at(0, 2, 0).send("bed", occupied=True)
    h.at(0, 12, 30).send("bed", occupied=False)
    h.after(1)
    h.motion("kitchen")
    h.at(0, 15)
    assert h.by("morning") == []
    h.at(0, 23).send("bed", occupied=True)  # an early night, and does not get up
    h.at(1, 14, 1)
    assert [f.kind.value for f in h.by("morning")] == ["inactivity"]


# -- wandering and geofence ---------------------------------------------------------------------


def test_front_door_at_night_is_wandering_for_dementia_only() -> None:
    for dementia, expected in ((True, ["wandering"]), (False, [])):
        h = VirtualHome(CarePlan(dementia=dementia))
        h.at(0, 3).send("door_front", open=True)
        assert h.kinds() == expected


def test_daytime_outing_is_not_wandering() -> None:
    h = VirtualHome(CarePlan(dementia=True))
    h.at(0, 10).send("door_front", open=True)
    h.after(0.5).send("door_front", open=False)
    assert h.kinds() == []


@pytest.mark.parametrize(
    "fence",
    [
        {"type": "circle", "lat": 31.23, "lon": 121.47, "radius_m": 500},
        {
            "type": "polygon",
            "points": [[31.22, 121.46], [31.22, 121.48], [31.24, 121.48], [31.24, 121.46]],
        },
    ],
)
def test_geofence_breach_once_per_excursion(fence: dict[str, object]) -> None:
    h = VirtualHome(CarePlan.model_validate({"geofence": fence}))
    h.at(0, 10).send("watch", lat=31.2301, lon=121.4701, accuracy_m=10.0)
    assert h.kinds() == []
    h.after(5).send("watch", lat=31.30, lon=121.47, accuracy_m=10.0)
    h.after(5).send("watch", lat=31.31, lon=121.47, accuracy_m=10.0)
    assert h.kinds() == ["geofence"]
    h.after(5).send("watch", lat=31.2301, lon=121.4701, accuracy_m=10.0)
    h.after(5).send("watch", lat=31.30, lon=121.47, accuracy_m=10.0)
    assert h.kinds() == ["geofence", "geofence"]


def test_poor_fix_near_the_fence_does_not_alarm() -> None:
    h = VirtualHome(
        CarePlan.model_validate({"geofence": {"lat": 31.23, "lon": 121.47, "radius_m": 500}})
    )
    h.at(0, 10).send("watch", lat=31.2352, lon=121.47, accuracy_m=200.0)  # ~580 m, +-200 m
    assert h.kinds() == []


# -- vitals ----------------------------------------------------------------------------------


def test_sustained_vitals_breach_and_a_brief_one() -> None:
    h = VirtualHome(CarePlan(vitals={"sustained_s": 120}))
    h.at(0, 23).send("bed_vitals", heart_rate=130, respiration_rate=16)
    h.after(1).send("bed_vitals", heart_rate=70, respiration_rate=16)  # brief
    h.after(5)
    assert h.kinds() == []
    h.send("bed_vitals", heart_rate=160, respiration_rate=16)
    h.after(1).send("bed_vitals", heart_rate=125, respiration_rate=16)
    h.after(1.1)
    [alert] = h.findings
    assert (alert.kind.value, alert.priority) == ("vitals", Priority.LIFE_THREATENING)


def test_vitals_absent_while_in_bed() -> None:
    h = VirtualHome(CarePlan(vitals_absent_in_bed_min=15))
    h.at(0, 22).send("bed_vitals", heart_rate=None, respiration_rate=None)
    h.send("bed", occupied=True)
    for _ in range(5):
        h.after(5).send("bed_vitals", heart_rate=60, respiration_rate=14)
    assert h.kinds() == []
    h.after(15)
    assert [f.detector for f in h.findings] == ["vitals_absent"]


# -- device health ---------------------------------------------------------------------------


def test_device_offline_clears_and_escalates_for_life_safety() -> None:
    h = VirtualHome(CarePlan(life_safety_offline_min=60))
    h.at(0, 10).send("smoke_kitchen", alarm=False)
    offline = h.send("smoke_kitchen", as_type="device_status", online=False, reason="silent")
    assert [(f.kind.value, f.priority, f.event_id) for f in h.findings] == [
        ("device_offline", Priority.MAINTENANCE, offline.id)
    ]
    h.after(61)
    assert [(f.kind.value, f.priority) for f in h.findings][-1] == (
        "device_offline",
        Priority.URGENT,
    )
    h.send("smoke_kitchen", as_type="device_status", online=True, reason="heard again")
    assert h.kinds("clear") == ["device_offline"]


def test_a_brief_device_outage_does_not_escalate() -> None:
    h = VirtualHome(CarePlan(life_safety_offline_min=60))
    h.at(0, 10).send("smoke_kitchen", alarm=False)
    h.send("smoke_kitchen", as_type="device_status", online=False, reason="silent")
    h.after(30).send("smoke_kitchen", as_type="device_status", online=True, reason="heard")
    h.after(60)
    assert [f.priority for f in h.findings if f.action == "raise"] == [Priority.MAINTENANCE]


def test_low_battery_clears_when_replaced() -> None:
    h = VirtualHome()
    h.at(0, 10)
    h.send("smoke_kitchen", as_type="battery", percent=5, low=True)
    h.after(60).send("smoke_kitchen", as_type="battery", percent=4, low=True)
    assert h.kinds() == ["low_battery"]
    h.send("smoke_kitchen", as_type="battery", percent=100, low=False)
    assert h.kinds("clear") == ["low_battery"]


def test_gateway_offline_after_grace_and_clears() -> None:
    h = VirtualHome(CarePlan(offline_grace_s=300))
    h.at(0, 10)
    h.status(online=False)
    h.after(4.9)
    h.status(online=True)
    h.after(10)
    assert h.kinds() == []
    h.status(online=False)
    h.after(5.1)
    assert h.kinds() == ["gateway_offline"]
    h.status(online=True)
    assert h.kinds("clear") == ["gateway_offline"]


# -- timers and state --------------------------------------------------------------------------


def test_stale_or_repeated_firing_does_nothing() -> None:
    h = VirtualHome()
    h.at(0, 10)
    h.motion("bathroom")
    timer = h.state.timers["bathroom"]
    h.after(1)
    h.motion("bathroom")  # re-armed: new token
    assert h.state.timers["bathroom"].token != timer.token
    after, found = fire(h.state, "bathroom", timer.token, h.plan, timer.due)
    assert (after, found) == (h.state, [])
    current = h.state.timers["bathroom"]
    once, found = fire(h.state, "bathroom", current.token, h.plan, current.due)
    assert len(found) == 1
    twice, again = fire(once, "bathroom", current.token, h.plan, current.due)
    assert (twice, again) == (once, [])


def test_state_round_trips_through_json() -> None:
    import json  # noqa: PLC0415

    h = VirtualHome(CarePlan(usual_wake_time=time(7)))
    _evening_in_bed(h)
    h.at(1, 2).send("bed", occupied=False)
    h.motion("bathroom")
    h.send("bed_vitals", heart_rate=50, respiration_rate=12)
    doc = json.loads(json.dumps(state_to_doc(h.state)))
    assert state_from_doc(doc) == h.state
    with pytest.raises(ValueError, match="version"):
        state_from_doc({**doc, "v": 0})
    assert isinstance(state_from_doc(state_to_doc(HomeState(home="H2"))), HomeState)
