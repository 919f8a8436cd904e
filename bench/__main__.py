"""Run benchmarks and print their figures: ``python -m bench [name|all]``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

__all__ = ["run"]


def _protocol() -> None:
    from bench.protocol_decode import main  # noqa: PLC0415 - each bench loads its own deps

    main()


def _sos_latency() -> None:
    from bench.sos_latency import main  # noqa: PLC0415

    main()


BENCHES: dict[str, Callable[[], None]] = {
    "protocol": _protocol,
    "sos-latency": _sos_latency,
}


def run(argv: Sequence[str]) -> int:
    """Run the named benchmarks; return an exit code."""
    names = list(argv) or ["all"]
    if names == ["all"]:
        names = list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
        return 2
    for name in names:
        print(f"== {name}")
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
