"""``homecare simulate``: a simulated home that drives a real gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

from simulators.home import SimHome

__all__ = ["gateway_toml", "run_simulate"]

_SCENARIOS: dict[str, Callable[[SimHome], Awaitable[None]]] = {
    "sos": SimHome.press_sos,
    "pendant": SimHome.press_pendant,
    "smoke": SimHome.smoke,
    "gas": SimHome.gas,
    "door": SimHome.open_door,
}


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"homecare simulate: --broker must be host:port, not {address!r}")
    return host, int(port)


def gateway_toml(home: SimHome, uplink: str, data_dir: Path) -> str:
    """Render the gateway config that reads ``home``, as TOML."""
    host, port = _split(uplink)
    config = home.gateway_config(host, port, data_dir)
    lines = [
        f'home_id = "{config.home_id}"',
        f'data_dir = "{config.data_dir}"',
        "",
        "[uplink]",
        f'host = "{config.uplink.host}"',
        f"port = {config.uplink.port}",
    ]
    if config.zigbee2mqtt is not None:
        z2m = config.zigbee2mqtt
        lines += [
            "",
            "[zigbee2mqtt]",
            f'base_topic = "{z2m.base_topic}"',
            "[zigbee2mqtt.broker]",
            f'host = "{z2m.broker.host}"',
            f"port = {z2m.broker.port}",
        ]
    for port_cfg in config.serial:
        lines += [
            "",
            "[[serial]]",
            f'name = "{port_cfg.name}"',
            f'path = "{port_cfg.path}"',
            f'framing = "{port_cfg.framing}"',
            f"baudrate = {port_cfg.baudrate}",
        ]
    for dev in config.devices:
        lines += [
            "",
            "[[devices]]",
            f'device_id = "{dev.device_id}"',
            f'profile = "{dev.profile}"',
            f'address = "{dev.address}"',
        ]
        if dev.room:
            lines.append(f'room = "{dev.room}"')
        if dev.port:
            lines.append(f'port = "{dev.port}"')
    return "\n".join(lines) + "\n"


async def run_simulate(args: argparse.Namespace) -> int:
    """Run one simulated home until the duration ends or Ctrl-C."""
    host, port = _split(args.broker)
    async with SimHome(args.home, z2m_host=host, z2m_port=port, base_topic=args.base_topic) as home:
        if args.write_config is not None:
            args.write_config.write_text(
                gateway_toml(home, args.broker, Path("var") / "gateway" / args.home)
            )
            print(
                f"wrote {args.write_config}; start: homecare gateway --config {args.write_config}"
            )
        print(f"simulated home {args.home}: Zigbee2MQTT on {args.broker} under {args.base_topic}/")
        print(f"simulated home {args.home}: 433 MHz receiver at {home.serial_path}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.duration or None):
                await _live(home, args.scenario or [])
    return 0


async def _live(home: SimHome, scenarios: list[str]) -> None:
    rng = random.Random(home.home_id)  # noqa: S311 - simulated movement, not security
    await asyncio.sleep(2.0)  # give a gateway started alongside a moment to open the port
    for name in scenarios:
        print(f"injecting {name}")
        await _SCENARIOS[name](home)
        await asyncio.sleep(1.0)
    while True:
        await asyncio.sleep(rng.uniform(3.0, 10.0))
        await (home.motion() if rng.random() < 0.7 else home.hall_motion())
