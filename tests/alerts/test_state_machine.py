"""Every legal and illegal transition of the pure lifecycle, as tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest

from backend.alerts import IllegalTransitionError, InvalidCommandError, Outcome
from backend.alerts._lifecycle import (
    Accept,
    AcceptTimeout,
    Acknowledge,
    Arrive,
    Case,
    Decline,
    Dispatch,
    Escalate,
    EscalateDue,
    Event,
    NotificationFailed,
    Notify,
    Reassign,
    RemindDue,
    Resolve,
    step,
)
from tests.alerts._cases import (
    LADDER,
    RESPONDERS,
    T0,
    acknowledged,
    dispatched,
    ids,
    opened,
    records,
    resolved,
    run,
)

pytestmark = pytest.mark.timeout(30)

STATES: dict[str, Callable[[], Case]] = {
    "open": opened,
    "acknowledged": acknowledged,
    "dispatched": dispatched,
    "resolved": resolved,
}
COMMANDS: dict[str, Event] = {
    "acknowledge": Acknowledge("bob"),
    "dispatch": Dispatch("bob", (RESPONDERS["P1"],)),
    "escalate": Escalate("sam", "no answer"),
    "reassign": Reassign("sam", "carol"),
    "resolve": Resolve("bob", Outcome.GENUINE_EMERGENCY, "ambulance took her in"),
}
# (command, status before) -> status after, or None when refused with 409.
ALERT_TABLE: dict[tuple[str, str], str | None] = {
    ("acknowledge", "open"): "acknowledged",
    ("acknowledge", "acknowledged"): None,
    ("acknowledge", "dispatched"): None,
    ("acknowledge", "resolved"): None,
    ("dispatch", "open"): "dispatched",
    ("dispatch", "acknowledged"): "dispatched",
    ("dispatch", "dispatched"): "dispatched",
    ("dispatch", "resolved"): None,
    ("escalate", "open"): "open",
    ("escalate", "acknowledged"): "acknowledged",
    ("escalate", "dispatched"): "dispatched",
    ("escalate", "resolved"): None,
    ("reassign", "open"): "open",
    ("reassign", "acknowledged"): "acknowledged",
    ("reassign", "dispatched"): "dispatched",
    ("reassign", "resolved"): None,
    ("resolve", "open"): "resolved",
    ("resolve", "acknowledged"): "resolved",
    ("resolve", "dispatched"): "resolved",
    ("resolve", "resolved"): None,
}


def test_the_alert_table_covers_every_command_in_every_status() -> None:
    assert set(ALERT_TABLE) == {(c, s) for c in COMMANDS for s in STATES}


@pytest.mark.parametrize(("command", "before"), sorted(ALERT_TABLE))
def test_alert_command(command: str, before: str) -> None:
    case = STATES[before]()
    assert case.alert.status == before
    expected = ALERT_TABLE[(command, before)]
    now = T0 + timedelta(seconds=20)
    if expected is None:
        with pytest.raises(IllegalTransitionError) as refused:
            step(case, COMMANDS[command], now, LADDER, ids())
        assert refused.value.facts["alert_status"] == before
        assert before in refused.value.detail
        return
    after, actions = step(case, COMMANDS[command], now, LADDER, ids())
    assert after.alert.status == expected
    assert after.alert.version == case.alert.version + 1
    assert after.alert.updated_at == now
    trail = records(actions)
    assert trail, "every change is recorded"
    assert trail[0][1] == before
    assert trail[-1][2] == expected
    assert all(a.transition.at == now for a in actions if hasattr(a, "transition"))


def test_refusal_of_a_second_acknowledgement_names_the_winner() -> None:
    case = acknowledged()
    with pytest.raises(IllegalTransitionError) as refused:
        step(case, Acknowledge("bob"), T0 + timedelta(seconds=5), LADDER, ids())
    assert refused.value.facts == {"alert_status": "acknowledged", "acknowledged_by": "alice"}
    assert "acknowledged by alice" in refused.value.detail


def test_acknowledging_stops_the_ladder_and_assigns() -> None:
    case = opened()
    assert {d.name for d in case.deadlines} == {"escalate", "remind"}
    after, _ = run(case, [Acknowledge("alice", "calling her now")])
    assert after.deadlines == ()
    assert (after.alert.acknowledged_by, after.alert.assignee) == ("alice", "alice")
    # The timers of the open alert are stale now: firing them changes nothing.
    for event in (EscalateDue(0), RemindDue(0)):
        same, actions = step(after, event, T0 + timedelta(seconds=60), LADDER, ids())
        assert same is after
        assert actions == []


def test_dispatch_from_open_implies_the_acknowledgement() -> None:
    case = dispatched("F1", "C1")
    alert = case.alert
    assert (alert.acknowledged_by, alert.assignee) == ("alice", "alice")
    assert alert.acknowledged_at == alert.dispatched_at
    assert [(d.responder_id, d.status) for d in case.dispatches] == [
        ("F1", "pending"),
        ("C1", "pending"),
    ]
    assert {d.name for d in case.deadlines} == {f"accept:{d.id}" for d in case.dispatches}


def test_dispatching_a_responder_already_under_way_is_refused() -> None:
    case = dispatched("F1")
    with pytest.raises(IllegalTransitionError) as refused:
        run(case, [Dispatch("bob", (RESPONDERS["F1"],))])
    assert refused.value.facts["dispatch_status"] == "pending"
    # Another responder may join.
    after, _ = run(case, [Dispatch("bob", (RESPONDERS["E1"],))])
    assert [d.responder_id for d in after.dispatches] == ["F1", "E1"]


def test_dispatching_nobody_or_an_inactive_responder_is_invalid() -> None:
    with pytest.raises(InvalidCommandError):
        run(opened(), [Dispatch("bob", ())])
    with pytest.raises(InvalidCommandError, match="X9 is inactive"):
        run(opened(), [Dispatch("bob", (RESPONDERS["X9"],))])


def test_escalating_past_the_top_is_refused() -> None:
    case, _ = run(opened(), [Escalate("sam"), Escalate("sam")])
    assert case.alert.escalation_level == LADDER.top
    with pytest.raises(IllegalTransitionError, match="top of its ladder"):
        run(case, [Escalate("sam")])


def test_reassigning_to_the_current_assignee_is_refused() -> None:
    case = acknowledged()
    with pytest.raises(IllegalTransitionError, match="already assigned to alice"):
        run(case, [Reassign("sam", "alice")])


def test_resolving_records_outcome_and_note_and_cancels_dispatches() -> None:
    case = dispatched("F1", "C1")
    first = case.dispatches[0].id
    case, _ = run(case, [Accept("alice", first)])
    case, actions = run(case, [Resolve("bob", Outcome.RESIDENT_OK_AFTER_CALL, "she is fine")])
    alert = case.alert
    assert (alert.status, alert.outcome, alert.resolution_note) == (
        "resolved",
        "resident_ok_after_call",
        "she is fine",
    )
    assert alert.resolved_by == "bob"
    assert [d.status for d in case.dispatches] == ["cancelled", "cancelled"]
    assert case.deadlines == ()
    told = [(a.recipient, a.dispatch_id is not None) for a in actions if isinstance(a, Notify)]
    assert told == [("F1", True), ("C1", True)]


# -- dispatch-side ------------------------------------------------------------------------------


def _answered(make: Callable[[UUID], Event]) -> Callable[[], Case]:
    def build() -> Case:
        case = dispatched("C1")
        return run(case, [make(case.dispatches[0].id)])[0]

    return build


def _timed_out() -> Case:
    case = dispatched("C1")
    deadline = case.deadlines[0]
    event = AcceptTimeout(case.dispatches[0].id, deadline.token)
    return step(case, event, deadline.due, LADDER, ids())[0]


DISPATCH_STATES: dict[str, Callable[[], Case]] = {
    "pending": lambda: dispatched("C1"),
    "accepted": _answered(lambda d: Accept("alice", d)),
    "declined": _answered(lambda d: Decline("alice", d)),
    "passed_over": _timed_out,
    "cancelled": _answered(lambda _: Resolve("bob", Outcome.TEST)),
    "arrived": _answered(lambda d: Arrive("alice", d)),
}
ANSWERS = ("accept", "decline", "arrive")
DISPATCH_TABLE: dict[tuple[str, str], str | None] = {
    ("accept", "pending"): "accepted",
    ("accept", "accepted"): None,
    ("accept", "declined"): None,
    ("accept", "passed_over"): None,
    ("accept", "cancelled"): None,
    ("accept", "arrived"): None,
    ("decline", "pending"): "declined",
    ("decline", "accepted"): "declined",
    ("decline", "declined"): None,
    ("decline", "passed_over"): None,
    ("decline", "cancelled"): None,
    ("decline", "arrived"): None,
    ("arrive", "pending"): "arrived",
    ("arrive", "accepted"): "arrived",
    ("arrive", "declined"): None,
    ("arrive", "passed_over"): None,
    ("arrive", "cancelled"): None,
    ("arrive", "arrived"): None,
}


def test_the_dispatch_table_covers_every_answer_in_every_dispatch_status() -> None:
    assert set(DISPATCH_TABLE) == {(a, s) for a in ANSWERS for s in DISPATCH_STATES}


@pytest.mark.parametrize(("answer", "before"), sorted(DISPATCH_TABLE))
def test_responder_answer(answer: str, before: str) -> None:
    case = DISPATCH_STATES[before]()
    dispatch = case.dispatches[0]
    assert (dispatch.responder_id, dispatch.status) == ("C1", before)
    events: dict[str, Event] = {
        "accept": Accept("olga", dispatch.id),
        "decline": Decline("olga", dispatch.id, "stuck in traffic"),
        "arrive": Arrive("olga", dispatch.id),
    }
    expected = DISPATCH_TABLE[(answer, before)]
    now = T0 + timedelta(minutes=10)
    if expected is None:
        with pytest.raises(IllegalTransitionError) as refused:
            step(case, events[answer], now, LADDER, ids())
        assert refused.value.facts["dispatch_status"] == before
        return
    after, actions = step(case, events[answer], now, LADDER, ids())
    changed = after.dispatch(dispatch.id)
    assert changed is not None
    assert changed.status == expected
    assert after.deadline(f"accept:{dispatch.id}") is None
    assert records(actions)[0][0] == answer
    if answer == "arrive":
        assert changed.arrived_at == now
        assert changed.accepted_at is not None
    if answer == "decline":
        # The next community worker on duty is sent in C1's place.
        assert [(d.responder_id, d.status, d.created_by) for d in after.dispatches[1:]] == [
            ("C2", "pending", "system")
        ]


def test_an_answer_for_a_dispatch_of_another_alert_is_invalid() -> None:
    other = dispatched("F1").dispatches[0].id
    with pytest.raises(InvalidCommandError, match="does not belong"):
        run(dispatched("C1"), [Accept("olga", other)])


# -- timers and failures --------------------------------------------------------------------------


def test_stale_and_repeated_timer_firings_do_nothing() -> None:
    case = opened()
    escalate = case.deadline("escalate")
    assert escalate is not None
    after, actions = step(case, EscalateDue(escalate.token), escalate.due, LADDER, ids())
    assert after.alert.escalation_level == 1
    assert actions
    # The same firing again (a duplicate, or one from before a restart) finds a newer token.
    again, nothing = step(after, EscalateDue(escalate.token), escalate.due, LADDER, ids())
    assert again is after
    assert nothing == []
    wrong, nothing = step(case, RemindDue(escalate.token + 7), escalate.due, LADDER, ids())
    assert wrong is case
    assert nothing == []


def test_timers_after_resolution_do_nothing() -> None:
    case = resolved()
    assert case.deadlines == ()
    for event in (EscalateDue(0), RemindDue(0), EscalateDue(1)):
        same, actions = step(case, event, T0 + timedelta(hours=1), LADDER, ids())
        assert same is case
        assert actions == []


def test_a_failure_after_resolution_changes_nothing() -> None:
    case = resolved()
    same, actions = step(
        case, NotificationFailed("F1", "HTTP 500", 0), T0 + timedelta(seconds=9), LADDER, ids()
    )
    assert same is case
    assert actions == []
