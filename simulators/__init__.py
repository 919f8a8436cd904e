"""Virtual homes that speak the real wire formats, built from the device profiles."""

from simulators._errors import SimulatorError
from simulators.home import LOW_BATTERY_PERCENT, SimHome
from simulators.kit import SERIAL_PORT, KitDevice, default_kit, serial_code

__all__ = [
    "LOW_BATTERY_PERCENT",
    "SERIAL_PORT",
    "KitDevice",
    "SimHome",
    "SimulatorError",
    "default_kit",
    "serial_code",
]
