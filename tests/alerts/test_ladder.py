"""The escalation ladder in virtual time: 0, 60 and 180 s, reminders, pass-over, failures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from backend.alerts import Candidate, EscalationSettings, Ladder, OnDutyWindow, Outcome
from backend.alerts._ladder import next_candidate, resolve_targets
from backend.alerts._lifecycle import (
    AcceptTimeout,
    Action,
    Case,
    Decline,
    Dispatch,
    EscalateDue,
    Event,
    NotificationFailed,
    Notify,
    Open,
    RemindDue,
    Resolve,
    step,
)
from backend.config import BackendConfig
from tests.alerts._cases import (
    LADDER,
    RESPONDERS,
    ROSTER,
    T0,
    ids,
    new_alert,
    opened,
    records,
    run,
)

pytestmark = pytest.mark.timeout(30)


def told(actions: list[Action]) -> list[str]:
    return [a.recipient for a in actions if isinstance(a, Notify)]


def fire(case: Case, name: str, at: datetime | None = None) -> tuple[Case, list[Action]]:
    """Fire the pending deadline ``name`` at its time (or at ``at``)."""
    deadline = case.deadline(name)
    assert deadline is not None, f"no {name} deadline in {case.deadlines}"
    event: Event
    if name == "escalate":
        event = EscalateDue(deadline.token)
    elif name == "remind":
        event = RemindDue(deadline.token)
    else:
        event = AcceptTimeout(case.dispatches[-1].id, deadline.token)
    return step(case, event, at or deadline.due, LADDER, ids())


def due(case: Case, name: str) -> float:
    deadline = case.deadline(name)
    assert deadline is not None
    return (deadline.due - T0).total_seconds()


def test_priority_1_ladder_at_0_60_and_180_seconds_with_reminders() -> None:
    case = Case(new_alert(), roster=ROSTER, kinds={c.id: c.kind for c in ROSTER})
    case, actions = step(case, Open(), T0, LADDER, ids())
    assert told(actions) == ["queue:operator", "F1"]
    assert (due(case, "remind"), due(case, "escalate")) == (30, 60)

    case, actions = fire(case, "remind")
    assert told(actions) == ["queue:operator", "F1"]
    assert records(actions) == [("remind", "open", "open")]
    assert due(case, "remind") == 60

    # Escalation and reminder fall due together: the escalation goes first (heap order by
    # name), and the reminder it replaces is stale.
    stale = case.deadline("remind")
    case, actions = fire(case, "escalate")
    assert case.alert.escalation_level == 1
    assert told(actions) == ["queue:supervisor", "F2"]
    assert records(actions) == [("escalate", "open", "open")]
    assert (due(case, "remind"), due(case, "escalate")) == (90, 180)
    assert stale is not None
    same, nothing = step(case, RemindDue(stale.token), stale.due, LADDER, ids())
    assert (same, nothing) == (case, [])

    case, actions = fire(case, "remind")
    assert told(actions) == ["queue:supervisor", "F2"], "the current level is reminded"

    case, actions = fire(case, "escalate")
    assert case.alert.escalation_level == 2
    assert told(actions) == ["C1", "C2"], "every community worker on duty"
    assert case.deadline("escalate") is None, "level 2 is the top"
    assert due(case, "remind") == 210
    case, actions = fire(case, "remind")
    assert told(actions) == ["C1", "C2"]
    assert due(case, "remind") == 240


def test_off_duty_responders_are_skipped() -> None:
    night = (OnDutyWindow(days=(0, 1, 2, 3, 4, 5, 6), start="20:00", end="08:00", tz="UTC"),)
    roster = (
        Candidate("F1", "family", 1, ()),  # never available
        Candidate("F2", "family", 2),
        Candidate("C1", "community_worker", 1, night),
        Candidate("C3", "community_worker", 3),
    )
    case = Case(new_alert(), roster=roster, kinds={c.id: c.kind for c in roster})
    case, actions = step(case, Open(), T0, LADDER, ids())
    assert told(actions) == ["queue:operator", "F2"], "F1 is never on duty"
    escalated, actions = fire(case, "escalate")
    # F2 was told at level 0 (F1 is never on duty), so level 1 has no family member left.
    assert told(actions) == ["queue:supervisor"]
    escalated, actions = fire(escalated, "escalate")
    assert told(actions) == ["C3"], "C1 works nights only; 08:03 UTC is outside"


def test_a_reminder_late_after_an_outage_keeps_its_grid_or_restarts_from_now() -> None:
    case = opened()
    late, _ = fire(case, "remind", T0 + timedelta(seconds=45))
    assert due(late, "remind") == 60
    very_late, _ = fire(case, "remind", T0 + timedelta(seconds=100))
    assert due(very_late, "remind") == 130


def test_an_unaccepted_dispatch_is_passed_over_to_the_next_of_its_kind_then_escalates() -> None:
    case, _ = run(opened(), [Dispatch("alice", (RESPONDERS["F1"],))])
    assert case.alert.escalation_level == 0
    assert due(case, f"accept:{case.dispatches[0].id}") == 1 + LADDER.accept_timeout_s

    case, actions = fire(case, f"accept:{case.dispatches[0].id}")
    assert [(d.responder_id, d.status) for d in case.dispatches] == [
        ("F1", "passed_over"),
        ("F2", "pending"),
    ]
    assert told(actions) == ["F2"]
    assert [r[0] for r in records(actions)] == ["pass_over", "dispatch"]

    case, actions = fire(case, f"accept:{case.dispatches[1].id}")
    assert [d.status for d in case.dispatches] == ["passed_over", "passed_over"]
    # No family member is left: the ladder moves up instead.
    assert case.alert.escalation_level == 1
    assert [r[0] for r in records(actions)] == ["pass_over", "escalate"]
    assert told(actions) == ["queue:supervisor"]


def test_a_decline_sends_the_next_responder_of_the_kind() -> None:
    case, _ = run(opened(), [Dispatch("alice", (RESPONDERS["C1"],))])
    case, actions = run(case, [Decline("olga", case.dispatches[0].id, "off sick")])
    assert [(d.responder_id, d.status) for d in case.dispatches] == [
        ("C1", "declined"),
        ("C2", "pending"),
    ]
    assert told(actions) == ["C2"]


def test_a_failed_notification_escalates_at_once() -> None:
    case = opened()
    at = T0 + timedelta(seconds=5)
    case, actions = step(case, NotificationFailed("F1", "HTTP 500", 0), at, LADDER, ids())
    assert case.alert.escalation_level == 1
    assert [r[0] for r in records(actions)] == ["notification_failed", "escalate"]
    assert told(actions) == ["queue:supervisor", "F2"]
    assert (due(case, "escalate"), due(case, "remind")) == (180, 35)
    # A late failure of a level already passed is recorded, and moves nothing.
    case, actions = step(case, NotificationFailed("F1", "HTTP 500", 0), at, LADDER, ids())
    assert case.alert.escalation_level == 1
    assert [r[0] for r in records(actions)] == ["notification_failed"]


def test_a_failed_dispatch_notification_passes_the_responder_over() -> None:
    case, _ = run(opened(), [Dispatch("alice", (RESPONDERS["F1"],))])
    first = case.dispatches[0].id
    failure = NotificationFailed("F1", "no channel", None, first)
    case, _ = step(case, failure, T0 + timedelta(seconds=9), LADDER, ids())
    assert [(d.responder_id, d.status) for d in case.dispatches] == [
        ("F1", "passed_over"),
        ("F2", "pending"),
    ]
    assert case.alert.escalation_level == 0


def test_at_the_top_a_failure_is_recorded_as_the_ladder_exhausted() -> None:
    case = opened()
    for _ in range(LADDER.top):
        case, _ = fire(case, "escalate")
    failure = NotificationFailed("C1", "timeout", LADDER.top)
    case, actions = step(case, failure, T0 + timedelta(seconds=200), LADDER, ids())
    assert [r[0] for r in records(actions)] == ["notification_failed", "ladder_exhausted"]
    assert case.alert.escalation_level == LADDER.top


def test_resolved_alerts_leave_no_timers() -> None:
    case, _ = run(opened(), [Resolve("alice", Outcome.TEST)])
    assert case.deadlines == ()


# -- targets ----------------------------------------------------------------------------------


def test_target_rules_resolve_against_the_roster() -> None:
    now = T0
    assert resolve_targets(["queue:operator", "family:next"], ROSTER, set(), now) == [
        "queue:operator",
        "F1",
    ]
    assert resolve_targets(["family:next"], ROSTER, {"F1"}, now) == ["F2"]
    assert resolve_targets(["family:next", "family:next"], ROSTER, set(), now) == ["F1", "F2"]
    assert resolve_targets(["family:any"], ROSTER, {"F1"}, now) == ["F1"]
    assert resolve_targets(["community_worker:on_duty"], ROSTER, set(), now) == ["C1", "C2"]
    evening = T0.replace(hour=21)
    assert resolve_targets(["community_worker:on_duty"], ROSTER, set(), evening) == []
    assert resolve_targets(["emergency_service:any"], ROSTER, set(), now) == []
    assert resolve_targets(["family:any", "family:on_duty"], ROSTER, set(), now) == ["F1", "F2"]


def test_inactive_responders_are_never_candidates() -> None:
    roster = (Candidate("F1", "family", 1, active=False), Candidate("F2", "family", 2))
    assert resolve_targets(["family:any"], roster, set(), T0) == ["F2"]
    found = next_candidate(roster, "family", set(), T0)
    assert found is not None
    assert found.id == "F2"
    assert next_candidate(roster, "family", {"F2"}, T0) is None


# -- configuration ----------------------------------------------------------------------------


def test_default_ladders() -> None:
    settings = EscalationSettings()
    p1 = settings.ladder(1)
    assert [(s.after_s, s.notify) for s in p1.steps] == [
        (0, ("queue:operator", "family:next")),
        (60, ("queue:supervisor", "family:next")),
        (180, ("community_worker:on_duty",)),
    ]
    assert (p1.remind_every_s, p1.accept_timeout_s) == (30, 300)
    for priority in (2, 3):
        ladder = settings.ladder(priority)
        assert ladder.steps[1].after_s > p1.steps[1].after_s, "lower priorities wait longer"


def test_a_ladder_from_the_backend_config() -> None:
    config = BackendConfig.model_validate(
        {
            "escalation": {
                "priority_2": {
                    "steps": [
                        {"after_s": 0, "notify": ["queue:operator"]},
                        {"after_s": 120, "notify": ["care_provider:any", "family:next"]},
                    ],
                    "remind_every_s": 45,
                    "accept_timeout_s": 600,
                }
            }
        }
    )
    ladder = config.escalation.ladder(2)
    assert ladder.top == 1
    assert ladder.remind_every_s == 45
    assert config.escalation.ladder(1) == EscalationSettings().priority_1


@pytest.mark.parametrize(
    ("ladder", "message"),
    [
        ({"steps": [{"after_s": 0, "notify": ["queue:Operator"]}]}, "not a target rule"),
        ({"steps": [{"after_s": 0, "notify": ["neighbour:next"]}]}, "not a target rule"),
        ({"steps": [{"after_s": 0, "notify": ["family:all"]}]}, "not a target rule"),
        ({"steps": [{"after_s": 5, "notify": ["queue:operator"]}]}, "after_s = 0"),
        (
            {
                "steps": [
                    {"after_s": 0, "notify": ["queue:operator"]},
                    {"after_s": 0, "notify": ["queue:supervisor"]},
                ]
            },
            "must increase",
        ),
        ({"steps": []}, "at least 1"),
        ({"steps": [{"after_s": 0, "notify": []}]}, "at least 1"),
        ({"steps": [{"after_s": 0, "notify": ["queue:x"]}], "remind_every_s": 0}, "greater"),
        ({"steps": [{"after_s": 0, "notify": ["queue:x"]}], "every": 3}, "Extra inputs"),
    ],
)
def test_bad_ladders_are_refused_with_the_reason(ladder: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Ladder.model_validate(ladder)
