"""Every extension point of nasplat. Read this file first.

A plugin is a module (or object) with functions named like the hooks below, marked with
``@nasplat.hookimpl``, and announced by an entry point in the group ``nasplat``::

    [project.entry-points.nasplat]
    my_space = "my_package.plugin"

Registration hooks are called once, when plugins load; each receives a ``register`` callable
to call once per class. Event hooks are called by the engine as a study runs; their return
values are ignored, and an exception in one is logged and does not stop the search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # types only: no import cycles
    import click

    from nasplat.store.tables import StudyRow, TrialRow

hookspec = pluggy.HookspecMarker("nasplat")
hookimpl = pluggy.HookimplMarker("nasplat")


# --- registration: called once, when plugins load -------------------------------------------


@hookspec
def nasplat_register_spaces(register: Callable[[type], None]) -> None:
    """Register search-space classes (see ``nasplat.space.SearchSpace``): ``register(cls)``."""


@hookspec
def nasplat_register_strategies(register: Callable[[type], None]) -> None:
    """Register strategy classes (see ``nasplat.strategy.Strategy``): ``register(cls)``."""


@hookspec
def nasplat_register_surrogates(register: Callable[[type], None]) -> None:
    """Register surrogate classes (see ``nasplat.surrogate.Surrogate``): ``register(cls)``."""


@hookspec
def nasplat_register_objectives(register: Callable[[type], None]) -> None:
    """Register objective classes (see ``nasplat.objective.Objective``): ``register(cls)``."""


@hookspec
def nasplat_register_datasets(register: Callable[[type], None]) -> None:
    """Register dataset classes (see ``nasplat.dataset.Dataset``): ``register(cls)``."""


@hookspec
def nasplat_register_executors(register: Callable[[type], None]) -> None:
    """Register executor classes (see ``nasplat.executor.Executor``): ``register(cls)``."""


@hookspec
def nasplat_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``nasplat`` command line: ``cli.add_command(cmd)``."""


# --- events: called by the engine; return values are ignored ----------------------------------


@hookspec
def nasplat_study_started(study: StudyRow, config: dict[str, Any]) -> None:
    """Called when a run of a study starts (also when it resumes), before the first ask."""


@hookspec
def nasplat_trial_started(study: StudyRow, trial: TrialRow) -> None:
    """Called when a trial is marked running, just before it is evaluated."""


@hookspec
def nasplat_trial_finished(study: StudyRow, trial: TrialRow, metrics: dict[str, float]) -> None:
    """Called after a trial is committed to the store, whatever its status."""


@hookspec
def nasplat_study_finished(study: StudyRow, reason: str) -> None:
    """Called when a run of a study stops: budget spent, space exhausted, or interrupted."""
