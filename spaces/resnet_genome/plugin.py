"""The ``resnet_genome`` space as a plugin: registered exactly as a third party's would be."""

from typing import Any

from nasplat import hookimpl
from nasplat.spaces.resnet_genome.space import ResNetGenome


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the ``resnet_genome`` search space."""
    register(ResNetGenome)
