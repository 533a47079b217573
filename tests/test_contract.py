"""The space contract, run on every registered space (toys, bundled, and installed ones)."""

from __future__ import annotations

import pytest

from nasplat import registry
from nasplat.problem import instantiate
from nasplat.testing import SpaceContract

SPACES = sorted(registry.get().registry("spaces"))


@pytest.mark.parametrize("name", SPACES)
class TestEveryRegisteredSpace(SpaceContract):
    """Every space registered through the plugin system passes the contract."""

    @pytest.fixture
    def space(self, name: str):  # type: ignore[override]
        return instantiate("spaces", name, {}, "space.options")


def test_the_four_genome_kinds_are_covered() -> None:
    kinds = {registry.get().registry("spaces")[n].cls.kind for n in SPACES}
    assert {"int_vector", "bit_mask", "gene_list", "cell_dag"} <= kinds
