"""homecare simulators."""
