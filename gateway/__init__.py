"""homecare gateway."""
