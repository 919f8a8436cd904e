"""Detection quality on a seeded cohort of simulated residents, in virtual time.

Run: ``python -m bench detection [--seed N] [--residents N] [--days N] [--start YYYY-MM-DD]``
(or ``python -m bench.detection ...``). Generates the cohort (``simulators.life``), runs
every event through ``backend.detectors.replay.replay`` (the live engine, in event time),
and prints, per alert kind: incidents injected, detected, recall, median and p95 delay from
onset to the first matching alert inside the incident's window, and false alarms per
resident-month; then the same per scenario and per kit, and the run time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from backend.careplan import CarePlan
from backend.detectors.replay import ReplayAlert, replay
from protocol import Envelope
from simulators.life import Cohort, Incident, Kit, generate_cohort

__all__ = ["Evaluation", "evaluate", "main"]

#: Triggers of one kind in one home closer together than this are one alarm for an operator.
EPISODE_GAP = timedelta(minutes=30)
IMMEDIATE = ("sos", "fall", "smoke", "gas", "water_leak")
_MONTH_DAYS = 30.0


@dataclass
class _Row:
    injected: int = 0
    detected: int = 0
    other: int = 0
    delays: list[float] = field(default_factory=list)
    false_alarms: int = 0


@dataclass
class Evaluation:
    """Matched incidents and alerts of one run."""

    cohort: Cohort
    alerts: list[ReplayAlert]
    #: incident -> delay (s) of the first matching alert, or None when missed.
    delays: dict[Incident, float | None]
    #: incident -> True when an alert of another accepted kind fired in its window.
    other: dict[Incident, bool]
    false_alarms: list[ReplayAlert]
    #: wandering alarms outside the night window that no incident explains.
    daytime_wandering: int
    events: int
    seconds: float

    @property
    def resident_days(self) -> int:
        """Return residents times days."""
        return self.cohort.resident_days


def _counting(events: Iterable[Envelope], counter: list[int]) -> Iterator[Envelope]:
    for e in events:
        counter[0] += 1
        yield e


def _episodes(alerts: list[ReplayAlert]) -> list[ReplayAlert]:
    """Return the first alert of each episode (same home and kind, gaps under EPISODE_GAP)."""
    last: dict[tuple[str, str], datetime] = {}
    firsts = []
    for a in sorted(alerts, key=lambda a: a.at):
        key = (a.home, a.kind)
        previous = last.get(key)
        if previous is None or a.at - previous > EPISODE_GAP:
            firsts.append(a)
        last[key] = a.at
    return firsts


def evaluate(cohort: Cohort) -> Evaluation:
    """Replay ``cohort`` through the detectors and match alerts to its incidents."""
    counter = [0]
    started = time.perf_counter()
    _, until = cohort.period
    alerts = list(
        replay(
            _counting(cohort.events(), counter),
            cohort.plans,
            until=until - timedelta(microseconds=1),
        )
    )
    seconds = time.perf_counter() - started
    by_home: dict[str, list[ReplayAlert]] = defaultdict(list)
    for a in alerts:
        by_home[a.home].append(a)
    incidents_of: dict[str, list[Incident]] = defaultdict(list)
    for i in cohort.incidents:
        incidents_of[i.home].append(i)
    delays: dict[Incident, float | None] = {}
    other: dict[Incident, bool] = {}
    for i in cohort.incidents:
        mine = by_home.get(i.home, [])
        hits = [a.at for a in mine if i.detected_by(a.kind, a.at)]
        delays[i] = (min(hits) - i.onset).total_seconds() if hits else None
        other[i] = any(a.kind != i.kind and i.explains(a.kind, a.at) for a in mine)
    false_alarms = [
        a
        for a in _episodes(alerts)
        if not any(i.explains(a.kind, a.at) for i in incidents_of.get(a.home, []))
    ]
    daytime = 0
    for a in false_alarms:
        if a.kind == "wandering":
            plan = cohort.plans[a.home]
            if not plan.night_window.contains(a.at.astimezone(plan.zone).time()):
                daytime += 1
    return Evaluation(cohort, alerts, delays, other, false_alarms, daytime, counter[0], seconds)


def _fmt_delay(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered) + 0.5) - 1)]


def _rows(ev: Evaluation, key: str) -> dict[str, _Row]:
    rows: dict[str, _Row] = defaultdict(_Row)
    kit_of = {p.home: p.kit for p in ev.cohort.personas}
    for i, delay in ev.delays.items():
        name = {"kind": i.kind, "scenario": i.scenario, "kit": f"{i.kind}, {kit_of[i.home]}"}[key]
        row = rows[name]
        row.injected += 1
        if delay is not None:
            row.detected += 1
            row.delays.append(delay)
        elif ev.other[i]:
            row.other += 1
    if key == "kind":
        for a in ev.false_alarms:
            rows[a.kind].false_alarms += 1
    return rows


def _table(ev: Evaluation, key: str, *, false_alarms: bool) -> list[str]:
    rows = _rows(ev, key)
    head = (
        f"| {key} | injected | detected | recall | caught as other kind"
        " | median delay | p95 delay |"
    )
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if false_alarms:
        head += " false alarms | per resident-month |"
        rule += "---:|---:|"
    lines = [head, rule]
    months = ev.resident_days / _MONTH_DAYS
    for name in sorted(rows):
        r = rows[name]
        recall = f"{100.0 * r.detected / r.injected:.1f}%" if r.injected else "n/a"
        median = statistics.median(r.delays) if r.delays else None
        line = (
            f"| {name} | {r.injected} | {r.detected} | {recall} | {r.other} | "
            f"{_fmt_delay(median)} | {_fmt_delay(_p95(r.delays))} |"
        )
        if false_alarms:
            line += f" {r.false_alarms} | {r.false_alarms / months:.2f} |"
        lines.append(line)
    return lines


def _recall(ev: Evaluation, pred: Iterable[Incident]) -> tuple[int, int]:
    chosen = list(pred)
    return sum(ev.delays[i] is not None for i in chosen), len(chosen)


def targets(ev: Evaluation) -> list[str]:
    """Return one line per target of issue 4: met or missed, with the figure."""
    plan_of = ev.cohort.plans
    lines = []
    incidents = list(ev.delays)
    hit, total = _recall(ev, (i for i in incidents if i.kind in IMMEDIATE))
    lines.append(_verdict("immediate kinds recall 100%", hit == total, f"{hit}/{total}"))
    falls = [i for i in incidents if i.kind == "fall_suspected"]
    hit, total = _recall(ev, falls)
    ok = total > 0 and hit / total >= 0.95
    lines.append(_verdict("fall_suspected recall >= 95%", ok, f"{hit}/{total}"))
    for scenario in ("bathroom_fall", "night_fall"):
        # The delay beyond the configured window, so that residents' windows may differ.
        over = [
            d / 60.0 - _window_min(plan_of[i.home], scenario)
            for i in falls
            if i.scenario == scenario and (d := ev.delays[i]) is not None
        ]
        median = statistics.median(over) if over else None
        text = "no detection" if median is None else f"median {median:+.1f} min beyond window"
        ok = median is not None and median <= 2.0
        lines.append(_verdict(f"fall_suspected ({scenario}) delay <= window + 2 min", ok, text))
    hit, total = _recall(ev, (i for i in incidents if i.kind == "inactivity"))
    ok = total > 0 and hit / total >= 0.9
    lines.append(_verdict("inactivity recall >= 90%", ok, f"{hit}/{total}"))
    fa = sum(a.kind == "inactivity" for a in ev.false_alarms)
    per50 = fa / ev.resident_days * 50
    lines.append(
        _verdict("inactivity <= 1 false alarm per 50 resident-days", per50 <= 1.0, f"{per50:.2f}")
    )
    hit, total = _recall(ev, (i for i in incidents if i.kind == "wandering"))
    lines.append(_verdict("wandering recall 100% at night", hit == total, f"{hit}/{total}"))
    lines.append(
        _verdict(
            "no wandering alarm on daytime outings",
            ev.daytime_wandering == 0,
            f"{ev.daytime_wandering} alarms",
        )
    )
    return lines


def _window_min(plan: CarePlan, scenario: str) -> float:
    if scenario == "bathroom_fall":
        return plan.bathroom_dwell_min
    return plan.bed_exit_return_min


def _verdict(name: str, ok: bool, figure: str) -> str:
    if figure.endswith("/0"):
        return f"- {name}: not measured (no such incident in this cohort)"
    return f"- {name}: {'met' if ok else 'MISSED'} ({figure})"


def report(ev: Evaluation) -> list[str]:
    """Return the printed report as lines of Markdown."""
    c = ev.cohort
    kits = Counter(p.kit for p in c.personas)
    per_minute = ev.resident_days / (ev.seconds / 60.0) if ev.seconds > 0 else float("inf")
    lines = [
        (
            f"cohort: seed {c.seed}, {len(c.personas)} residents x {c.days} days from {c.start}"
            f" ({', '.join(f'{kits[k]} {k}' for k in Kit)} kits;"
            f" {sum(p.dementia for p in c.personas)} with dementia,"
            f" {sum(p.late_sleeper for p in c.personas)} late sleepers,"
            f" {sum(p.sitter for p in c.personas)} armchair sitters,"
            f" {sum(p.bather for p in c.personas)} long bathers)"
        ),
        (
            f"events: {ev.events:,}; alerts raised: {len(ev.alerts):,}"
            f" ({sum(a.change == 'opened' for a in ev.alerts):,} opened);"
            f" run time {ev.seconds:.1f} s (generation and detection);"
            f" {per_minute:,.0f} resident-days per minute"
        ),
        "",
        "Per alert kind:",
        "",
        *_table(ev, "kind", false_alarms=True),
        "",
        "Per scenario:",
        "",
        *_table(ev, "scenario", false_alarms=False),
        "",
        "Per kind and kit:",
        "",
        *_table(ev, "kit", false_alarms=False),
        "",
        "False alarms by detector and kit:",
        "",
    ]
    kit_of = {p.home: p.kit for p in c.personas}
    by_detector = Counter(
        f"{a.kind} ({getattr(a, 'detector', '') or 'n/a'}), {kit_of[a.home]} kit"
        for a in ev.false_alarms
    )
    lines += [f"- {name}: {n}" for name, n in sorted(by_detector.items())] or ["- none"]
    lines += ["", "Targets:", "", *targets(ev)]
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench detection", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 2))
    return parser


def main(argv: Sequence[str] = ()) -> None:
    """Run the detection benchmark and print its tables."""
    args = _parser().parse_args(list(argv))
    cohort = generate_cohort(args.seed, args.residents, args.days, args.start)
    for line in report(evaluate(cohort)):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
