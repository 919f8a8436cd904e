"""``homecare replay``: run the live detectors over recorded events, in event time."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from backend.careplan import CarePlans, load_care_plans, load_seed_file
from backend.detectors.replay import ReplayAlert, replay
from protocol import Envelope
from protocol.config import ConfigError

__all__ = ["ReplayError", "alert_to_json", "read_events", "run_replay"]


class ReplayError(Exception):
    """The replay's input cannot be used; the message says which file and line."""


def read_events(path: Path, errors: IO[str]) -> tuple[list[Envelope], int]:
    """Read envelopes from a JSON-lines file; report and skip bad lines; sort by time and seq."""
    events: list[Envelope] = []
    rejected = 0
    try:
        handle = path.open("rb")
    except OSError as err:
        raise ReplayError(f"{path}: cannot read the file: {err.strerror}") from err
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                events.append(Envelope.model_validate_json(line))
            except ValidationError as err:
                rejected += 1
                first = err.errors(include_url=False, include_input=False)[0]
                where = ".".join(map(str, first["loc"])) or "line"
                errors.write(f"{path}:{number}: skipped: {where}: {first['msg']}\n")
    # The detectors need each home's events in the order they happened. Timestamps have
    # millisecond resolution, so ties are common; a gateway's seq orders them.
    events.sort(key=lambda e: (e.at, e.seq))
    return events, rejected


def alert_to_json(alert: ReplayAlert) -> dict[str, Any]:
    """Return one replayed alert as a JSON object."""
    return {
        "home": alert.home,
        "kind": alert.kind,
        "priority": alert.priority,
        "at": alert.at.isoformat().replace("+00:00", "Z"),
        "change": alert.change,
        "event_id": None if alert.event_id is None else str(alert.event_id),
        "detector": alert.detector,
        "reason": alert.reason,
    }


def _plans(path: Path | None) -> CarePlans:
    if path is None:
        return CarePlans()
    seed = load_seed_file(path)
    return load_care_plans(seed.homes, seed.default_care_plan)


def _until(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ReplayError(f"--until: not an RFC 3339 time: {text!r}") from err
    if moment.tzinfo is None:
        raise ReplayError(f"--until: {text!r} has no time zone; fix: add Z or an offset")
    return moment


def _write(alerts: Iterator[ReplayAlert], out: IO[str]) -> int:
    count = 0
    for alert in alerts:
        out.write(json.dumps(alert_to_json(alert), separators=(",", ":")) + "\n")
        count += 1
    return count


def run_replay(args: argparse.Namespace) -> int:
    """Run the replay command; figures go to stderr, alerts to ``--out`` or stdout."""
    try:
        plans = _plans(args.care_plans)
        until = _until(args.until)
        started = time.perf_counter()
        events, rejected = read_events(args.events, sys.stderr)
        read_s = time.perf_counter() - started
        alerts = replay(events, plans.homes, default_plan=plans.default, until=until)
        detect_started = time.perf_counter()
        if args.out is None:
            count = _write(alerts, sys.stdout)
        else:
            with args.out.open("w", encoding="utf-8") as out:
                count = _write(alerts, out)
        detect_s = time.perf_counter() - detect_started
    except (ReplayError, ConfigError) as err:
        sys.stderr.write(f"homecare replay: {err}\n")
        return 2
    except OSError as err:
        sys.stderr.write(f"homecare replay: {err}\n")
        return 2
    rate = len(events) / detect_s if detect_s > 0 else float("inf")
    sys.stderr.write(
        f"replayed {len(events)} events ({rejected} skipped) from {len(plans.homes)} planned "
        f"homes: {count} alerts; read {read_s:.2f} s, detect {detect_s:.2f} s "
        f"({rate:,.0f} events/s)\n"
    )
    return 0
