"""End-to-end tests of the operator console in a real headless Chromium."""
