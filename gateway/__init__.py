"""homecare gateway: sources, decoding, change filter, durable outbox and uplink."""

from gateway._errors import GatewayError, InvalidReadingError, StoreError
from gateway.app import Gateway, run_gateway
from gateway.config import GatewayConfig, load_gateway_config

__all__ = [
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "InvalidReadingError",
    "StoreError",
    "load_gateway_config",
    "run_gateway",
]
