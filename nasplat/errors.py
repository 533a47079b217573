"""One exception tree: every error nasplat raises on purpose is a ``NasplatError``.

The command line turns these into a one-line message and exit code 2; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NasplatError(Exception):
    """Base class: the message says what is wrong and how to fix it."""


class ConfigError(NasplatError):
    """A study configuration (file, flags or options) is invalid."""


class PluginError(NasplatError):
    """A plugin is missing, broken, or clashes with another."""


class StoreError(NasplatError):
    """The result store cannot be opened, is of another schema version, or was asked to write."""


class StudyNotFound(StoreError):
    """No study of that name exists in the store."""


class InvalidGenome(NasplatError):
    """A genome breaks the rules of its search space."""


class TrialFailed(NasplatError):
    """An evaluation failed for a reason worth recording (NaN loss, divergence, ...)."""


def unknown_name(kind: str, name: str, known: Iterable[str], hint: str = "") -> str:
    """Message for an unknown name, with the closest match and the known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" Did you mean '{close[0]}'?" if close else ""
    listed = ", ".join(known) if known else "none"
    more = f" ({hint})" if hint else ""
    return f"unknown {kind} '{name}'.{guess} Available: {listed}{more}."
