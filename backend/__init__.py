"""homecare backend."""
