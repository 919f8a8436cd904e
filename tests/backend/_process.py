"""A backend run as its own process, for tests that kill it with SIGKILL and start it again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

__all__ = ["free_port", "get_json", "start_backend", "stop_all"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_backend(config: Path) -> subprocess.Popen[bytes]:
    """Start ``homecare backend --config config`` in a session of its own."""
    # The backend reads HOMECARE_* variables as config; the suite's own must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "homecare", "backend", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )


def stop_all(procs: Iterator[subprocess.Popen[bytes]] | list[subprocess.Popen[bytes]]) -> None:
    """Kill whatever of ``procs`` still runs, and reap every one."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


async def get_json(
    api: httpx.AsyncClient, path: str, *, headers: dict[str, str], wait_s: float = 30, **params: Any
) -> Any:
    """GET ``path`` until the backend answers 200 (it may still be starting); return the body."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            resp = await api.get(path, params=params, headers=headers)
            if resp.status_code == 200:
                return resp.json()
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not answer")
        await asyncio.sleep(0.05)
