"""The plugin module named by the entry point: it registers the package's search space."""

from collections.abc import Callable

from nasplat import hookimpl
from nasplat_toy.space import ToyMLP


@hookimpl
def nasplat_register_spaces(register: Callable[[type], None]) -> None:
    """Register the ``toy_mlp`` search space."""
    register(ToyMLP)
