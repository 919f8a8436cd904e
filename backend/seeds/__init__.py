"""Seed files shipped with homecare: ``demo.yaml`` is what ``homecare demo`` loads."""

from pathlib import Path

__all__ = ["DEMO_SEED"]

#: Three homes, their (fictional) residents and a ladder of responders for the demo.
DEMO_SEED = Path(__file__).parent / "demo.yaml"
