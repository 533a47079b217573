"""The example plugin's space passes nasplat's contract suite, imported from its source folder."""

from __future__ import annotations

import sys

import pytest

from _venv import EXAMPLE
from nasplat.config import validate_options
from nasplat.errors import ConfigError
from nasplat.testing import SpaceContract

if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

from nasplat_toy.space import ToyMLP  # noqa: E402


class TestToyMLP(SpaceContract):
    """Every check nasplat runs on its own spaces, on the space people copy."""

    @pytest.fixture(params=[1, 4])
    def space(self, request: pytest.FixtureRequest) -> ToyMLP:
        """toy_mlp with one hidden layer and with the default four."""
        return ToyMLP(layers=request.param)


def test_error_falls_as_the_network_widens() -> None:
    """The conflict the search explores: more parameters buy less error."""
    space = ToyMLP()
    errors = [space.evaluate([w] * 4)["error"] for w in ToyMLP.WIDTHS]
    params = [space.cheap_metrics([w] * 4)["params"] for w in ToyMLP.WIDTHS]
    assert errors == sorted(errors, reverse=True) and params == sorted(params)


def test_options_are_validated() -> None:
    """The Options model rejects an out-of-range or misspelled option, naming it."""
    assert validate_options(ToyMLP.Options, {}, "space.options").model_dump() == {"layers": 4}
    with pytest.raises(ConfigError, match="space.options, layers = 0"):
        validate_options(ToyMLP.Options, {"layers": 0}, "space.options")
    with pytest.raises(ConfigError, match="layer.*unknown key"):
        validate_options(ToyMLP.Options, {"layer": 3}, "space.options")
