"""Topic names of the backend broker, and their parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from protocol._errors import TopicError

__all__ = [
    "HOME_ID_PATTERN",
    "PREFIX",
    "TopicKind",
    "TopicRef",
    "commands_topic",
    "events_topic",
    "is_valid_home_id",
    "parse_topic",
    "responder_notifications_topic",
    "status_topic",
]

PREFIX = "homecare/v1"
HOME_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

TopicKind = Literal["events", "status", "commands"]
_KINDS: frozenset[str] = frozenset({"events", "status", "commands"})


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A parsed per-home topic."""

    home: str
    kind: TopicKind


def is_valid_home_id(home: str) -> bool:
    """Tell whether ``home`` is a valid home id."""
    return HOME_ID_PATTERN.fullmatch(home) is not None


def _home_topic(home: str, kind: TopicKind) -> str:
    if not is_valid_home_id(home):
        raise TopicError(f"invalid home id {home!r}: use 1 to 64 of A-Z a-z 0-9 _ -")
    return f"{PREFIX}/{home}/{kind}"


def events_topic(home: str) -> str:
    """Return the topic a gateway publishes its events on."""
    return _home_topic(home, "events")


def status_topic(home: str) -> str:
    """Return the retained status topic of a gateway."""
    return _home_topic(home, "status")


def commands_topic(home: str) -> str:
    """Return the topic the backend sends a gateway its commands on."""
    return _home_topic(home, "commands")


def responder_notifications_topic(responder_id: str) -> str:
    """Return the topic a responder's notifications are published on."""
    if not is_valid_home_id(responder_id):
        raise TopicError(f"invalid responder id {responder_id!r}")
    return f"{PREFIX}/responders/{responder_id}/notifications"


def parse_topic(topic: str) -> TopicRef:
    """Split a per-home topic into its home id and kind."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise TopicError(f"not a homecare/v1 per-home topic: {topic!r}")
    home, kind = parts[2], parts[3]
    if not is_valid_home_id(home):
        raise TopicError(f"invalid home id in topic {topic!r}")
    if kind not in _KINDS:
        raise TopicError(f"unknown topic kind {kind!r} in {topic!r}")
    return TopicRef(home=home, kind=kind)  # type: ignore[arg-type]
