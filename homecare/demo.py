"""``homecare demo``: a backend, simulated homes with real gateways, and scripted incidents."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from backend.alerts import AlertChange
from backend.app import Backend
from backend.auth import PolicyError, Role, check_password
from backend.config import ApiSettings, BackendConfig, MqttSettings
from backend.seeds import DEMO_SEED
from backend.storage import EventFilter
from gateway.app import Gateway
from gateway.config import GatewayConfig
from homecare.broker import BrokerError, EmbeddedBroker, MosquittoProcess, mosquitto_binary
from simulators.home import SimHome

__all__ = ["DemoOptions", "run_demo"]

_log = logging.getLogger(__name__)

_SCRIPTED_KINDS = ("sos", "smoke", "gas")
_EXPECTED = len(_SCRIPTED_KINDS)


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    mqtt_v5: bool
    kind: str


@contextlib.asynccontextmanager
async def _broker(workdir: Path, choice: str) -> AsyncIterator[_Endpoint]:
    if choice == "mosquitto" and mosquitto_binary() is None:
        raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
    if choice != "embedded" and mosquitto_binary() is not None:
        proc = MosquittoProcess(workdir)
        try:
            await asyncio.to_thread(proc.start)
        except BrokerError as err:
            if choice == "mosquitto":
                raise
            _log.warning("mosquitto would not start (%s); using the embedded broker", err)
        else:
            try:
                yield _Endpoint(proc.host, proc.port, mqtt_v5=True, kind="mosquitto")
            finally:
                await asyncio.to_thread(proc.stop)
            return
    async with EmbeddedBroker() as embedded:
        yield _Endpoint(embedded.host, embedded.port, mqtt_v5=False, kind="embedded amqtt")


def _format(change: AlertChange) -> str:
    alert = change.alert
    when = alert.updated_at.astimezone().strftime("%H:%M:%S")
    verb, what = {
        "opened": ("ALERT", "raised"),
        "attached": ("  +  ", f"repeated (x{alert.trigger_count})"),
        "resolved": ("CLEAR", "condition cleared"),
    }.get(change.change, ("  >  ", change.change))
    if change.actor is not None:
        # The lifecycle: acknowledged, escalated, dispatched, resolved, ... by someone.
        verb, what = "  >  ", f"{change.change} by {change.actor}, level {alert.escalation_level}"
    return (
        f"{when} {verb} P{alert.priority} {alert.kind:<6} home {alert.home}  {what}  id {alert.id}"
    )


async def _print_alerts(backend: Backend, opened: asyncio.Queue[AlertChange]) -> None:
    with backend.hub.subscribe() as sub:
        async for change in sub:
            print(_format(change), flush=True)
            if change.change == "opened":
                opened.put_nowait(change)


async def _resident_life(homes: list[SimHome], rng: random.Random) -> None:
    # Residents move about: motion in the living room and the hall now and then.
    while True:
        await asyncio.sleep(rng.uniform(2.0, 6.0))
        home = rng.choice(homes)
        await (home.motion() if rng.random() < 0.6 else home.hall_motion())


async def _script(homes: list[SimHome]) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    first, second, third = homes[0], homes[1 % len(homes)], homes[2 % len(homes)]
    return [
        (f"{first.home_id}: the resident presses the SOS button", first.press_sos),
        (f"{second.home_id}: the smoke detector in the kitchen goes off", second.smoke),
        (f"{third.home_id}: the gas detector in the kitchen goes off", third.gas),
        (f"{first.home_id}: the front door opens (no alert expected)", first.open_door),
    ]


@dataclass(frozen=True)
class DemoOptions:
    """What ``homecare demo`` was asked for."""

    homes: int = 3
    api_port: int = 8080
    data_dir: Path | None = None
    exit_when_done: bool = False
    broker: str = "auto"


async def run_demo(options: DemoOptions) -> int:
    """Run the demo; return 0 once the scripted alerts were all raised (or on Ctrl-C)."""
    if options.homes < 1:
        raise ValueError("the demo needs at least one home")
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    # Ctrl-C and SIGTERM both unwind everything started below, broker included.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        with tempfile.TemporaryDirectory(prefix="homecare-demo-") as tmp:
            root = (options.data_dir or Path(tmp)).resolve()
            root.mkdir(parents=True, exist_ok=True)
            async with AsyncExitStack() as stack:
                return await _run(stack, root, options)
    except asyncio.CancelledError:
        print("homecare demo: stopped", flush=True)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    raise AssertionError("unreachable")


_DEMO_ADMIN = "demo"


def _acceptable(password: str) -> bool:
    try:
        check_password(password, username=_DEMO_ADMIN)
    except PolicyError:
        return False
    return True


async def _demo_admin(backend: Backend) -> str:
    """Create the demo's admin, or give it a new password if kept from a run before."""
    password = secrets.token_urlsafe(12)
    while not _acceptable(password):
        password = secrets.token_urlsafe(12)
    if await backend.users.get(_DEMO_ADMIN) is None:
        await backend.users.create(
            "system", username=_DEMO_ADMIN, password=password, role=Role.ADMIN
        )
    else:
        await backend.users.set_password("system", _DEMO_ADMIN, password)
    return password


async def _run(stack: AsyncExitStack, root: Path, options: DemoOptions) -> int:
    n_homes, api_port, exit_when_done = options.homes, options.api_port, options.exit_when_done
    started = datetime.now().astimezone()
    broker = await stack.enter_async_context(_broker(root / "broker", options.broker))
    protocol = "5" if broker.mqtt_v5 else "3.1.1"
    print(f"homecare demo: broker {broker.kind} on {broker.host}:{broker.port}", flush=True)

    config = BackendConfig(
        database_url=f"sqlite+aiosqlite:///{root / 'backend.db'}",
        mqtt=MqttSettings(host=broker.host, port=broker.port, protocol=protocol),
        api=ApiSettings(host="127.0.0.1", port=api_port),
        demo=True,
        seed_file=DEMO_SEED,
    )
    try:
        backend = await stack.enter_async_context(Backend(config))
    except OSError as err:
        print(f"homecare demo: cannot start the backend: {err} (try --api-port 0)", flush=True)
        return 1
    demo_password = await _demo_admin(backend)
    opened: asyncio.Queue[AlertChange] = asyncio.Queue()
    printer = asyncio.create_task(_print_alerts(backend, opened))
    stack.callback(printer.cancel)
    await backend.hub.wait_subscribers(1)

    homes: list[SimHome] = []
    for i in range(1, n_homes + 1):
        home_id = f"H{i:04d}"
        home = await stack.enter_async_context(
            SimHome(
                home_id,
                z2m_host=broker.host,
                z2m_port=broker.port,
                base_topic=f"zigbee2mqtt_{home_id}",
                mqtt_v5=broker.mqtt_v5,
            )
        )
        gw_config = home.gateway_config(broker.host, broker.port, root / "gateways" / home_id)
        if not broker.mqtt_v5:
            gw_config = _speak_mqtt311(gw_config)
        gateway = await stack.enter_async_context(Gateway(gw_config))
        await gateway.wait_ready()
        homes.append(home)
    print(
        f"homecare demo: {n_homes} homes, each with {len(homes[0].devices)} devices and a gateway\n"
        f"homecare demo: API http://127.0.0.1:{backend.api_port}/api/v1/alerts  "
        f"(header: Authorization: Bearer {backend.api_token})\n"
        f"homecare demo: live stream ws://127.0.0.1:{backend.api_port}/api/v1/stream?token=...\n"
        f"homecare demo: log in as admin {_DEMO_ADMIN!r}, password {demo_password} "
        "(POST /api/v1/auth/token; a new password each run)",
        flush=True,
    )

    life = asyncio.create_task(_resident_life(homes, random.Random(7)))  # noqa: S311 - simulated movement, not security
    stack.callback(life.cancel)
    for text, action in await _script(homes):
        print(f"   ... {text}", flush=True)
        await action()
        await asyncio.sleep(0.3)

    kinds = await _collect(opened, _EXPECTED, timeout_s=20.0)
    door_seen = await _door_event_stored(backend, homes[0].home_id, timeout_s=5.0)
    # Anything else the door may have raised arrives on the same stream; look once more.
    await asyncio.sleep(0.5)
    while not opened.empty():
        kinds.append(opened.get_nowait().alert.kind)
    elapsed = (datetime.now().astimezone() - started).total_seconds()
    ok = sorted(kinds) == sorted(_SCRIPTED_KINDS) and door_seen
    door = "stored, raised no alert" if door_seen and ok else "NOT as expected"
    print(
        f"homecare demo: {len(kinds)} alerts raised ({', '.join(kinds)}) within {elapsed:.1f} s "
        f"of start; door opening {door}" + ("" if ok else "  (FAILED)"),
        flush=True,
    )
    if exit_when_done:
        return 0 if ok else 1
    print("homecare demo: running; Ctrl-C to stop", flush=True)
    await asyncio.Event().wait()  # until Ctrl-C or SIGTERM cancels this task
    return 0


async def _collect(
    opened: asyncio.Queue[AlertChange], count: int, *, timeout_s: float
) -> list[str]:
    kinds: list[str] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while len(kinds) < count:
                kinds.append((await opened.get()).alert.kind)
    return kinds


async def _door_event_stored(backend: Backend, home: str, *, timeout_s: float) -> bool:
    query = EventFilter(home=home, type="contact")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while not any(e.data.get("open") for e in await backend.store.list_events(query)):  # noqa: ASYNC110 - the store offers no change feed
                await asyncio.sleep(0.1)
            return True
    return False


def _speak_mqtt311(config: GatewayConfig) -> GatewayConfig:
    uplink = config.uplink.model_copy(update={"protocol": "3.1.1"})
    z2m = config.zigbee2mqtt
    if z2m is not None:
        z2m = z2m.model_copy(update={"broker": z2m.broker.model_copy(update={"protocol": "3.1.1"})})
    return config.model_copy(update={"uplink": uplink, "zigbee2mqtt": z2m})
