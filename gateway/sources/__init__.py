"""Source adapters: they turn device traffic into raw readings for the pipeline."""

from gateway.sources._base import (
    Availability,
    BridgeState,
    LinkState,
    RawReading,
    Rejection,
    SourceItem,
)

__all__ = ["Availability", "BridgeState", "LinkState", "RawReading", "Rejection", "SourceItem"]
