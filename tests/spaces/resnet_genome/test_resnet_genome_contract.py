"""nasplat's contract suite on resnet_genome, for the default input, MNIST's and a tiny one."""

from __future__ import annotations

import pytest

from nasplat.spaces.resnet_genome.space import ResNetGenome
from nasplat.testing import SpaceContract

SETTINGS = {
    "default": {},
    "mnist": {"input_shape": (1, 28, 28), "classes": 10, "max_channels": 32},
    "tiny": {"input_shape": (1, 4, 4), "classes": 3, "max_channels": 8, "max_length": 5,
             "init_length": 5},
}


class TestResNetGenomeContract(SpaceContract):
    """Every check nasplat runs on its spaces, run on resnet_genome."""

    @pytest.fixture(params=list(SETTINGS))
    def space(self, request: pytest.FixtureRequest) -> ResNetGenome:
        return ResNetGenome(**SETTINGS[request.param])
