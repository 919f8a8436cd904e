"""The backend process: storage, MQTT ingest, the alert hub and the HTTP API, started together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import uvicorn

from backend._errors import BackendError
from backend.alerts import Lifecycle
from backend.api import create_app
from backend.auth import Authenticator, Users
from backend.config import BackendConfig, check_backend_config
from backend.directory import sync_directory
from backend.hub import Hub
from backend.ingest import (
    SUBSCRIPTIONS,
    Detection,
    DetectionBatch,
    Ingest,
    IngestStats,
    Scheduler,
    tune_garbage_collector,
)
from backend.notify import Notifications
from backend.storage import Store
from protocol.mqtt import MqttClient, MqttConnectError

__all__ = ["Backend", "run_backend"]

_log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    # The Backend (or run_backend) owns the process's signals, not uvicorn.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.settimeout(0.0)
    except OSError as err:
        sock.close()
        raise BackendError(f"cannot listen for the API on {host}:{port}: {err}") from err
    return sock


class Backend:
    """Run the backend; use as ``async with Backend(config) as backend:``."""

    def __init__(
        self, config: BackendConfig, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        check_backend_config(config)
        self.config = config
        #: The clock of the failed-login limits (a test may turn it forward).
        self._monotonic = monotonic
        token = config.api.token
        #: The service token: as configured, random for a demo, else none.
        self.api_token: str | None = (
            token.get_secret_value()
            if token is not None
            else (secrets.token_urlsafe(32) if config.demo else None)
        )
        key = config.auth.secret_key
        self._secret_key = key.get_secret_value() if key is not None else secrets.token_urlsafe(48)
        self._users: Users | None = None
        self.hub = Hub()
        self.stats = IngestStats()
        self.api_port: int | None = None
        self._store: Store | None = None
        self._client: MqttClient | None = None
        self._ingest: Ingest | None = None
        self.detection = Detection(config.care_plans())
        self._directory = config.directory()
        self._notifications: Notifications | None = None
        self._scheduler: Scheduler | None = None
        self._lifecycle: Lifecycle | None = None
        self._server: _Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise BackendError("the backend is not started")
        return self._store

    @property
    def lifecycle(self) -> Lifecycle:
        """The alert lifecycle: commands, escalation deadlines, notification failures."""
        if self._lifecycle is None:
            raise BackendError("the backend is not started")
        return self._lifecycle

    @property
    def notifications(self) -> Notifications:
        """Notification delivery to responders and role queues."""
        if self._notifications is None:
            raise BackendError("the backend is not started")
        return self._notifications

    @property
    def users(self) -> Users:
        """Operator accounts (create users, change roles and passwords)."""
        if self._users is None:
            raise BackendError("the backend is not started")
        return self._users

    @property
    def mqtt_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Migrate the database, connect to the broker, start ingest and the API."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        cfg = self.config
        self._store = await Store.open(cfg.database_url)
        self._users = Users(self._store)
        synced = await sync_directory(self._store, self._directory, datetime.now(UTC))
        _log.info("directory: %s added, %s changed from the seed", synced.added, synced.changed)
        self._lifecycle = Lifecycle(self._store, self.hub, cfg.escalation)
        self.detection.on_open = self._lifecycle.start_ladder
        password = cfg.mqtt.password.get_secret_value() if cfg.mqtt.password else None
        self._client = MqttClient(
            host=cfg.mqtt.host,
            port=cfg.mqtt.port,
            client_id=cfg.mqtt.client_id,
            username=cfg.mqtt.username,
            password=password,
            # A persistent session with manual acks: a message is acknowledged only once
            # committed, so a crash before the commit gets it redelivered, not lost.
            manual_ack=True,
            clean_start=False,
            session_expiry_s=3600,
            receive_maximum=1000,
            subscriptions=list(SUBSCRIPTIONS),
            protocol_v5=cfg.mqtt.protocol == "5",
        )
        try:
            await self._client.connect()
        except MqttConnectError as err:
            raise BackendError(str(err)) from err
        # Failed notifications move the ladder on; the lifecycle hands over new ones.
        self._notifications = Notifications(
            self._store,
            cfg.notify,
            publish=self._client.publish,
            on_failure=self._lifecycle.notification_failed,
        )
        self._lifecycle.set_notifier(self._notifications)
        restored = await self.detection.restore(self._store)
        if restored:
            _log.info("%d homes have detector deadlines pending", restored)
        self._scheduler = Scheduler(
            self.detection, self._store, self.hub, on_changes=self._count_fired
        )
        self._scheduler.start()
        await self._notifications.start()
        await self._lifecycle.start()
        self._ingest = Ingest(
            self._client, self._store, self.hub, stats=self.stats, detection=self.detection
        )
        self._ingest.start()
        if cfg.api.enabled:
            await self._start_api()

    def _count_fired(self, batch: DetectionBatch) -> None:
        for change in batch.changes:
            if change.change == "opened":
                self.stats.alerts_opened += 1
            else:
                self.stats.alerts_attached += 1

    async def _start_api(self) -> None:
        cfg = self.config.api
        app = create_app(
            self.store,
            self.hub,
            self.api_token,
            mqtt_connected=lambda: self.mqtt_connected,
            detection=self.detection,
            auth=Authenticator(
                self.users, self._secret_key, self.config.auth, monotonic=self._monotonic
            ),
            lifecycle=self._lifecycle,
            ingest_stats=self.stats,
            metrics=self.config.metrics,
        )
        self._socket = _listen(cfg.host, cfg.port)
        self.api_port = int(self._socket.getsockname()[1])
        self._server = _Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
        )
        self._server_task = asyncio.create_task(
            self._server.serve(sockets=[self._socket]), name="backend-api"
        )
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._server_task.done():
                    self._server_task.result()
                    raise BackendError("the API server stopped during start-up")
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop ingest, the API, the broker session and the database, in that order."""
        if self._ingest is not None:
            await self._ingest.stop()
            self._ingest = None
        if self._scheduler is not None:
            await self._scheduler.stop()
            self._scheduler = None
        if self._lifecycle is not None:
            await self._lifecycle.stop()
            self._lifecycle = None
        if self._notifications is not None:
            await self._notifications.stop()
            self._notifications = None
        self.hub.close()
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._server_task
            self._server, self._server_task = None, None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._client is not None:
            await self._client.disconnect()
            self._client = None
        if self._store is not None:
            await self._store.close()
            self._store, self._users = None, None


async def run_backend(config: BackendConfig) -> None:
    """Run the backend until cancelled, SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stopping.set)
            handled.append(sig)
    try:
        async with Backend(config) as backend:
            tune_garbage_collector()
            _log.info("backend running; API on port %s", backend.api_port)
            if config.demo and config.api.token is None:
                _log.warning("demo mode: the API token for this run is %s", backend.api_token)
            await stopping.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
