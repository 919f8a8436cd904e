"""Declarative device profiles: schema, loader, decoder and serial framing."""

from device_profiles.decode import Decoded, DecodedEvent, decode, payload_for
from device_profiles.framing import (
    Frame,
    FrameError,
    Framer,
    encode_ev1527,
    encode_vitals_line,
    framer_for,
)
from device_profiles.registry import ProfileError, Registry, load_profile, load_registry
from device_profiles.schema import Profile, SourceKind, Trigger

__all__ = [
    "Decoded",
    "DecodedEvent",
    "Frame",
    "FrameError",
    "Framer",
    "Profile",
    "ProfileError",
    "Registry",
    "SourceKind",
    "Trigger",
    "decode",
    "encode_ev1527",
    "encode_vitals_line",
    "framer_for",
    "load_profile",
    "load_registry",
    "payload_for",
]
