"""A private MQTT broker for the demo and for tests.

Mosquitto when its binary is installed, on a free loopback port with a config
of our own; otherwise amqtt, embedded in this process. amqtt speaks MQTT 3.1.1
only and is fit for a demo at most (see docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

__all__ = ["BrokerError", "EmbeddedBroker", "MosquittoProcess", "free_port", "mosquitto_binary"]


class BrokerError(Exception):
    """A private broker could not be started."""


def mosquitto_binary() -> str | None:
    """Return the mosquitto executable, if installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise BrokerError(f"mosquitto exited at start: {err.strip()}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
            return
        time.sleep(0.02)
    raise BrokerError(f"mosquitto did not listen on {host}:{port} within {timeout_s} s")


@dataclass
class MosquittoProcess:
    """A mosquitto of our own, with its config and log in ``workdir``."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    process: subprocess.Popen[bytes] | None = None
    mqtt_v5: bool = True

    @property
    def log_path(self) -> Path:
        return self.workdir / f"mosquitto-{self.port}.log"

    def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        binary = mosquitto_binary()
        if binary is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        # Started as root, mosquitto drops to its own user, which cannot read our
        # files (an ACL or password file in a private temp dir); stay who we are.
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            f"{run_as}"
            "allow_anonymous true\n"
            "persistence false\n"
            # The backend may fall behind a burst; keep its queued QoS 1 messages.
            "max_queued_messages 1000000\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{self.extra_config}"
        )
        # A session of its own: Ctrl-C in a terminal must not take the broker down
        # before the processes that publish through it have said goodbye.
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own config file
            [binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _wait_listening(self.host, self.port, self.process, 10.0)
        except BrokerError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop mosquitto and reap the process."""
        proc, self.process = self.process, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr:
            proc.stderr.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedBroker:
    """amqtt running inside this process (MQTT 3.1.1 only)."""

    mqtt_v5 = False

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self._broker: Any = None

    async def __aenter__(self) -> Self:
        try:
            from amqtt.broker import Broker  # noqa: PLC0415 - optional dependency
        except ImportError as err:
            raise BrokerError(
                "no broker available: install mosquitto, or `pip install homecare[embedded-broker]`"
            ) from err
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                },
            }
        )
        await self._broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
