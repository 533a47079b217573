"""The ``rnn_cell`` space and its ``morphism_nsga2`` strategy, registered as a plugin."""

from typing import Any

from nasplat import hookimpl


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the ``rnn_cell`` search space."""
    from nasplat.spaces.rnn_cell.space import RnnCellSpace

    register(RnnCellSpace)


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register ``morphism_nsga2``, NSGA-II over network morphisms with weight inheritance."""
    from nasplat.spaces.rnn_cell.strategy import MorphismNSGA2

    register(MorphismNSGA2)
