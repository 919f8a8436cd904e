"""Private mosquitto processes for tests: each on a free loopback port, stopped afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from homecare.broker import MosquittoProcess, free_port, mosquitto_binary

__all__ = ["Broker", "free_port", "mosquitto_binary", "running_broker"]

Broker = MosquittoProcess


@contextlib.contextmanager
def running_broker(workdir: Path, extra_config: str = "") -> Iterator[Broker]:
    """Start a private mosquitto for the duration of the block."""
    with MosquittoProcess(workdir, extra_config=extra_config) as broker:
        yield broker
