"""A virtual home for detector tests: builds events and moves virtual time explicitly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.careplan import CarePlan
from backend.detectors import Finding, HomeState, advance, gateway_status, step, visit
from protocol import Envelope, new_event_id

#: Monday 2026-11-23 00:00 in Asia/Shanghai (the default plan's zone).
MIDNIGHT = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)

DEVICES: dict[str, tuple[str, str | None]] = {
    "pir_bedroom": ("motion", "bedroom"),
    "pir_bathroom": ("motion", "bathroom"),
    "pir_kitchen": ("motion", "kitchen"),
    "pir_living": ("motion", "living"),
    "pir_hall": ("motion", "hall"),
    "door_front": ("contact", "entrance"),
    "door_bathroom": ("contact", "bathroom"),
    "bed": ("bed", "bedroom"),
    "bed_vitals": ("vitals", "bedroom"),
    "seat_living": ("presence", "living"),
    "radar_bathroom": ("presence", "bathroom"),
    "watch": ("location", None),
    "sos_button": ("sos", "living"),
    "smoke_kitchen": ("smoke", "kitchen"),
}


class VirtualHome:
    """Feed events at chosen local times; collect every finding, timers included."""

    def __init__(self, plan: CarePlan | None = None, home: str = "H1") -> None:
        self.plan = plan or CarePlan()
        self.state = HomeState(home=home)
        self.now = MIDNIGHT
        self.findings: list[Finding] = []
        self._seq = 0

    def at(self, day: int, hh: int, mm: int = 0, ss: int = 0) -> VirtualHome:
        """Move virtual time to local ``hh:mm:ss`` of day ``day`` (0 = the first day)."""
        moment = MIDNIGHT + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)
        return self.until(moment)

    def after(self, minutes: float) -> VirtualHome:
        return self.until(self.now + timedelta(minutes=minutes))

    def until(self, moment: datetime) -> VirtualHome:
        assert moment >= self.now, "virtual time only moves forward"
        self.state, out = advance(self.state, moment, self.plan)
        self.findings.extend(out)
        self.now = moment
        return self

    def send(self, device: str, *, as_type: str | None = None, **data: Any) -> Envelope:
        """Send an event of ``device`` (of its own type, or ``as_type``: battery, tamper, ...)."""
        type_, room = DEVICES[device]
        type_ = as_type or type_
        self._seq += 1
        event = Envelope.model_validate(
            {
                "id": str(new_event_id()),
                "home": self.state.home,
                "device": device,
                "type": type_,
                "at": self.now,
                "seq": self._seq,
                "room": room,
                "data": data,
            }
        )
        return self.event(event)

    def event(self, event: Envelope) -> Envelope:
        self.until(max(self.now, event.at))
        self.state, out = step(self.state, event, self.plan)
        self.findings.extend(out)
        return event

    def status(self, *, online: bool) -> None:
        self.state, out = gateway_status(self.state, online, self.plan, self.now)
        self.findings.extend(out)

    def visit(self, visit_id: str, *, active: bool) -> None:
        self.state, out = visit(self.state, visit_id, active=active, plan=self.plan, now=self.now)
        self.findings.extend(out)

    def motion(self, room: str) -> None:
        self.send(f"pir_{room}", motion=True)
        self.after(1.5)
        self.send(f"pir_{room}", motion=False)

    def kinds(self, action: str = "raise") -> list[str]:
        return [f.kind.value for f in self.findings if f.action == action]

    def by(self, detector: str) -> list[Finding]:
        return [f for f in self.findings if f.detector == detector]
