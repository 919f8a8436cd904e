"""A home's detector state to and from a JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.detectors._engine import HomeState
from backend.detectors._model import Timer

__all__ = ["STATE_VERSION", "state_from_doc", "state_to_doc"]

#: Bumped when the document's shape changes; an older document is then discarded.
STATE_VERSION = 1


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _uuid(value: Any) -> UUID | None:
    return None if value is None else UUID(value)


def state_to_doc(state: HomeState) -> dict[str, Any]:
    """Return ``state`` as a JSON-ready document."""
    return {
        "v": STATE_VERSION,
        "home": state.home,
        "clock": _t(state.clock),
        "next_token": state.next_token,
        "timers": {
            name: [t.due.isoformat(), t.token, None if t.cause is None else str(t.cause)]
            for name, t in sorted(state.timers.items())
        },
        "sensors": list(state.sensors),
        "last_activity": _t(state.last_activity),
        "last_activity_id": None if state.last_activity_id is None else str(state.last_activity_id),
        "last_room": state.last_room,
        "in_bed": state.in_bed,
        "away": state.away,
        "present": list(state.present),
        "gateway_online": state.gateway_online,
        "visits": list(state.visits),
        "up_at": _t(state.up_at),
        "bath_inside": state.bath_inside,
        "still_room": state.still_room,
        "learn_days": [list(d) for d in state.learn_days],
        "learn_day": state.learn_day,
        "learn_mask": state.learn_mask,
        "outside": state.outside,
        "breach_since": _t(state.breach_since),
        "breach_critical": state.breach_critical,
        "offline": list(state.offline),
        "low": list(state.low),
        "tampered": list(state.tampered),
        "life_safety": list(state.life_safety),
    }


def state_from_doc(doc: Mapping[str, Any]) -> HomeState:
    """Rebuild a state; raise ``ValueError`` if the document is not one ``state_to_doc`` wrote."""
    if doc.get("v") != STATE_VERSION:
        raise ValueError(f"detector state version {doc.get('v')!r} is not {STATE_VERSION}")
    try:
        timers = {
            str(name): Timer(datetime.fromisoformat(due), int(token), _uuid(cause))
            for name, (due, token, cause) in doc["timers"].items()
        }
        return HomeState(
            home=str(doc["home"]),
            clock=_dt(doc["clock"]),
            next_token=int(doc["next_token"]),
            timers=timers,
            sensors=tuple(doc["sensors"]),
            last_activity=_dt(doc["last_activity"]),
            last_activity_id=_uuid(doc["last_activity_id"]),
            last_room=doc["last_room"],
            in_bed=bool(doc["in_bed"]),
            away=bool(doc["away"]),
            present=tuple(doc["present"]),
            gateway_online=bool(doc["gateway_online"]),
            visits=tuple(doc["visits"]),
            up_at=_dt(doc["up_at"]),
            bath_inside=bool(doc["bath_inside"]),
            still_room=doc["still_room"],
            learn_days=tuple((int(a), int(b)) for a, b in doc["learn_days"]),
            learn_day=int(doc["learn_day"]),
            learn_mask=int(doc["learn_mask"]),
            outside=bool(doc["outside"]),
            breach_since=_dt(doc["breach_since"]),
            breach_critical=bool(doc["breach_critical"]),
            offline=tuple(doc["offline"]),
            low=tuple(doc["low"]),
            tampered=tuple(doc["tampered"]),
            life_safety=tuple(doc["life_safety"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"not a detector state document: {err}") from err
