"""The dense_prune plugin: the space, its generated dataset, the batched executor, `ensemble`."""

from __future__ import annotations

from typing import Any

from nasplat import hookimpl
from nasplat.spaces.dense_prune.data import SyntheticGlyphs
from nasplat.spaces.dense_prune.space import DensePruneSpace


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the dense_prune space."""
    register(DensePruneSpace)


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register synthetic_glyphs, the space's default dataset (with an OoD set)."""
    register(SyntheticGlyphs)


@hookimpl
def nasplat_register_executors(register: Any) -> None:
    """Register batched_heads, which trains K dense_prune heads at once."""
    from nasplat.spaces.dense_prune.executor import BatchedHeadsExecutor

    register(BatchedHeadsExecutor)


@hookimpl
def nasplat_register_commands(cli: Any) -> None:
    """Add ``nasplat ensemble``."""
    from nasplat.spaces.dense_prune.command import ensemble_command

    cli.add_command(ensemble_command)
