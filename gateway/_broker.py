"""Turn ``BrokerSettings`` into ``MqttClient`` connection arguments."""

from __future__ import annotations

import ssl
from typing import Any

from gateway._errors import GatewayError
from gateway.config import BrokerSettings
from protocol.mqtt import MqttClient

__all__ = ["SESSION_EXPIRY_S", "connect", "connection_kwargs"]

#: How long a broker keeps a gateway session (its subscriptions, and the QoS 1
#: messages it has not yet acknowledged) while the gateway is away.
SESSION_EXPIRY_S = 3600


def connection_kwargs(settings: BrokerSettings) -> dict[str, Any]:
    """Return host, port, credentials, TLS context and session settings for ``MqttClient``.

    Every gateway session is persistent (``clean_start`` false, with an expiry):
    a message that arrived but was not yet acknowledged, because its events were
    not yet durable, is delivered again after a restart or a crash, and messages
    published while the gateway was down wait for it. The client id must be stable.
    """
    tls: ssl.SSLContext | None = None
    if settings.tls:
        try:
            tls = ssl.create_default_context(
                cafile=str(settings.ca_file) if settings.ca_file else None
            )
            if settings.cert_file is not None:
                tls.load_cert_chain(
                    str(settings.cert_file),
                    str(settings.key_file) if settings.key_file else None,
                )
        except (OSError, ssl.SSLError) as err:
            raise GatewayError(f"cannot load TLS files for {settings.host}: {err}") from err
    return {
        "host": settings.host,
        "port": settings.port,
        "username": settings.username,
        "password": settings.password.get_secret_value() if settings.password else None,
        "tls": tls,
        "protocol_v5": settings.protocol == "5",
        "clean_start": False,
        "session_expiry_s": SESSION_EXPIRY_S,
    }


async def connect(client: MqttClient, timeout_s: float) -> None:
    """Connect ``client``; a cancelled connect stops its network thread before leaving."""
    await client.connect(timeout_s=timeout_s)
