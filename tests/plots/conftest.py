"""The shared mixed study (see plot_toys)."""

from plot_toys import mixed_study  # noqa: F401
