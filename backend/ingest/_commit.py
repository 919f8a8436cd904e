"""Write one plan in one transaction: dead letters, homes, events, then alerts for new events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from backend.alerts import AlertChange, apply_trigger
from backend.detectors import ImmediateState, detect_immediate
from backend.ingest._detection import Detection, DetectionBatch
from backend.ingest._plan import Plan
from backend.ingest._seq import SeqTrack, observe
from backend.storage import Store, Transaction
from protocol import Envelope, new_event_id

__all__ = ["Outcome", "commit_plan"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    stored: int
    duplicates: int
    dead_lettered: int
    statuses: int
    changes: list[AlertChange] = field(default_factory=list)
    sequences: dict[str, SeqTrack] = field(default_factory=dict)
    detection: DetectionBatch | None = None


async def commit_plan(
    store: Store,
    plan: Plan,
    state: ImmediateState,
    now: datetime,
    *,
    new_id: Callable[[], UUID] = new_event_id,
    sequences: Mapping[str, SeqTrack] | None = None,
    detection: Detection | None = None,
) -> tuple[ImmediateState, Outcome]:
    """Commit ``plan``; the returned detector state is valid only because the commit succeeded.

    ``sequences`` caches each home's event numbering; homes missing from it are read
    from the store. The outcome carries the numbering of every home this batch touched.
    With ``detection`` (held under its lock by the caller), every detector runs instead of
    the immediate rules alone; the caller adopts ``outcome.detection`` once committed.
    """
    changes: list[AlertChange] = []
    batch: DetectionBatch | None = None
    async with store.transaction() as tx:
        for dead in plan.dead:
            await tx.add_dead_letter(dead)
        for status in plan.statuses:
            await tx.update_home_status(
                status.home, online=status.online, status=status.status, now=now
            )
        new = await tx.insert_events(plan.rows)
        fresh = [e for e in plan.envelopes if e.id in new]
        if detection is not None:
            statuses = [(s.home, s.online) for s in plan.statuses]
            batch = await detection.on_batch(tx, fresh, statuses, now)
            changes.extend(batch.changes)
        else:
            for envelope in fresh:
                state, triggers = detect_immediate(state, envelope, now)
                changes.extend([await apply_trigger(tx, t, now, new_id=new_id) for t in triggers])
        # Records the homes first seen, too: every home with a new event gets its numbering.
        tracks = await _track_sequences(tx, fresh, sequences or {}, now)
    outcome = Outcome(
        stored=len(new),
        duplicates=len(plan.rows) - len(new) + plan.repeated_in_batch,
        dead_lettered=len(plan.dead),
        statuses=len(plan.statuses),
        changes=changes,
        sequences=tracks,
        detection=batch,
    )
    return state, outcome


def _to_doc(track: SeqTrack) -> dict[str, Any]:
    return {
        "high": track.high,
        "missing": [list(r) for r in track.missing],
        "resets": track.resets,
        "forgotten": track.forgotten,
    }


def _from_doc(doc: Mapping[str, Any]) -> SeqTrack:
    return SeqTrack(
        int(doc["high"]),
        tuple((int(a), int(b)) for a, b in doc.get("missing", [])),
        int(doc.get("resets", 0)),
        int(doc.get("forgotten", 0)),
    )


async def _track_sequences(
    tx: Transaction, fresh: list[Envelope], cached: Mapping[str, SeqTrack], now: datetime
) -> dict[str, SeqTrack]:
    homes = {e.home for e in fresh}
    known = {h: cached[h] for h in homes if h in cached}
    stored = await tx.get_sequences(homes - known.keys())
    before = {**{h: _from_doc(d) for h, d in stored.items()}, **known}
    numbers: dict[str, list[int]] = {}
    for envelope in fresh:
        numbers.setdefault(envelope.home, []).append(envelope.seq)
    after = {home: observe(before.get(home), seqs) for home, seqs in numbers.items()}
    for home, track in after.items():
        old = before.get(home)
        if old is not None and track.resets > old.resets:
            _log.warning("home %s: gateway event numbering restarted at %d", home, track.high)
        elif track.missing_count > (old.missing_count if old is not None else 0):
            _log.info("home %s: %d events not (yet) received", home, track.missing_count)
    await tx.set_sequences({h: _to_doc(t) for h, t in after.items()}, now)
    return after
