"""nasplat's contract suite for toy_mlp (``pytest tests``), plus a check of its own."""

import pytest

from nasplat.testing import SpaceContract
from nasplat_toy.space import ToyMLP


class TestToyMLP(SpaceContract):
    """Every check nasplat runs on its own spaces, run on toy_mlp."""

    @pytest.fixture
    def space(self) -> ToyMLP:
        """The space under test, with a non-default option."""
        return ToyMLP(layers=3)


def test_wider_networks_have_lower_error() -> None:
    """The trade-off the search explores: more parameters, less error."""
    space = ToyMLP()
    assert space.evaluate([64] * 4)["error"] < space.evaluate([8] * 4)["error"]

