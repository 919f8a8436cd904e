"""The detection benchmark's matching of alerts to ground truth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backend.detectors.replay import ReplayAlert
from bench.detection import _episodes, evaluate, report
from simulators.life import Incident, generate_cohort

T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def _alert(kind: str, minutes: float, home: str = "H0001") -> ReplayAlert:
    return ReplayAlert(home, kind, 2, T0 + timedelta(minutes=minutes), "opened", None, "test")


def test_triggers_close_together_are_one_episode() -> None:
    alerts = [_alert("inactivity", m) for m in (0, 10, 35, 100)] + [_alert("sos", 5)]
    firsts = _episodes(alerts)
    assert [(a.kind, a.at - T0) for a in firsts] == [
        ("inactivity", timedelta(0)),
        ("sos", timedelta(minutes=5)),
        ("inactivity", timedelta(minutes=100)),
    ]


def test_incident_window_and_accepted_kinds() -> None:
    incident = Incident(
        "H0001",
        "fall_suspected",
        "bathroom_fall",
        T0,
        T0 + timedelta(hours=4),
        frozenset({"inactivity"}),
    )
    assert incident.detected_by("fall_suspected", T0 + timedelta(minutes=45))
    assert not incident.detected_by("inactivity", T0 + timedelta(minutes=45))
    assert incident.explains("inactivity", T0 + timedelta(hours=4))
    assert not incident.explains("fall_suspected", T0 + timedelta(hours=4, seconds=1))
    assert not incident.explains("smoke", T0 + timedelta(minutes=1))


def test_every_immediate_incident_of_a_small_cohort_is_matched() -> None:
    cohort = generate_cohort(seed=5, residents=12, days=8, start=date(2026, 3, 2))
    ev = evaluate(cohort)
    immediate = [i for i in cohort.incidents if i.kind in ("sos", "smoke", "gas", "fall")]
    assert immediate
    for incident in immediate:
        assert ev.delays[incident] == 0.0, incident
    assert ev.events > 10_000
    for alert in ev.false_alarms:
        assert not any(
            i.explains(alert.kind, alert.at) for i in cohort.incidents if i.home == alert.home
        )
    text = "\n".join(report(ev))
    assert f"| {immediate[0].kind} |" in text
    assert "resident-days per minute" in text
