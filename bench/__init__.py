"""homecare bench."""
