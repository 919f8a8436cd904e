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


def _detection(args: Sequence[str] = ()) -> None:
    from bench.detection import main  # noqa: PLC0415

    main(args)


def _ingest(args: Sequence[str] = ()) -> None:
    from bench.ingest import main  # noqa: PLC0415

    main(args)


def _ws_latency(args: Sequence[str] = ()) -> None:
    from bench.ws_latency import main  # noqa: PLC0415

    main(args)


def _gateway_outbox() -> None:
    from bench.gateway_outbox import main  # noqa: PLC0415

    main()


def _gateway_rss() -> None:
    from bench.gateway_process import rss  # noqa: PLC0415

    rss()


def _gateway_throughput() -> None:
    from bench.gateway_process import throughput  # noqa: PLC0415

    throughput()


def _gateway_replay() -> None:
    from bench.gateway_process import replay  # noqa: PLC0415

    replay()


BENCHES: dict[str, Callable[[], None]] = {
    "protocol": _protocol,
    "sos-latency": _sos_latency,
    "gateway-outbox": _gateway_outbox,
    "gateway-rss": _gateway_rss,
    "gateway-throughput": _gateway_throughput,
    "gateway-replay": _gateway_replay,
    "detection": _detection,
    "ingest": _ingest,
    "ws-latency": _ws_latency,
}
#: Benchmarks that take options: ``python -m bench ingest --db sqlite``.
WITH_OPTIONS: dict[str, Callable[[Sequence[str]], None]] = {
    "detection": _detection,
    "ingest": _ingest,
    "ws-latency": _ws_latency,
}


def run(argv: Sequence[str]) -> int:
    """Run the named benchmarks; return an exit code."""
    names = list(argv) or ["all"]
    if names[0] in ("-h", "--help"):
        print("usage: python -m bench [all | NAME ...]  or  python -m bench NAME --option ...")
        print(f"benchmarks: {', '.join(BENCHES)}; with options: {', '.join(WITH_OPTIONS)}")
        print("(python -m bench NAME --help lists the options of NAME)")
        return 0
    if names[0] in WITH_OPTIONS and len(names) > 1 and names[1].startswith("-"):
        # python -m bench detection --residents 300, python -m bench ingest --db sqlite
        print(f"== {names[0]}")
        WITH_OPTIONS[names[0]](names[1:])
        return 0
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
