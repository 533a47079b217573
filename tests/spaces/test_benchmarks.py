"""The benchmark problems: the space contract, and objective values equal to pymoo's."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.problems.many.dtlz import DTLZ2
from pymoo.problems.multi.zdt import ZDT1, ZDT2, ZDT3

from nasplat.config import validate_config
from nasplat.errors import ConfigError
from nasplat.problem import resolve
from nasplat.spaces.benchmarks import DTLZ2Int, ZDT1Int, ZDT2Int, ZDT3Int
from nasplat.testing import SpaceContract

GENOME = [0, 16, 8, 3, 5, 1, 12, 7, 2, 9]
"""A hand-picked genome of the default grid (10 variables, levels 0..16)."""


class TestZDT1Int(SpaceContract):
    @pytest.fixture
    def space(self) -> ZDT1Int:
        return ZDT1Int()


class TestDTLZ2Int(SpaceContract):
    @pytest.fixture
    def space(self) -> DTLZ2Int:
        return DTLZ2Int(n_obj=4, n_var=6, levels=5)


@pytest.mark.parametrize("space, problem", [
    (ZDT1Int(), ZDT1(n_var=10)), (ZDT2Int(), ZDT2(n_var=10)), (ZDT3Int(), ZDT3(n_var=10)),
    (DTLZ2Int(), DTLZ2(n_var=10, n_obj=3)), (DTLZ2Int(n_obj=2), DTLZ2(n_var=10, n_obj=2))])
def test_values_equal_pymoo(space, problem) -> None:
    x = np.array(GENOME) / 16  # every problem here has bounds [0, 1]
    F = problem.evaluate(x, return_values_of=["F"])
    assert space.evaluate(GENOME) == pytest.approx({f"f{i + 1}": v for i, v in enumerate(F)})
    assert space.default_objectives == tuple(f"f{i + 1}" for i in range(len(F)))


def test_zdt1_by_hand() -> None:
    """ZDT1: f1 = x1, g = 1 + 9 mean(x2..xn), f2 = g (1 - sqrt(f1 / g))."""
    genome = [4, 0, 0, 0, 0, 0, 0, 0, 0, 16]
    g = 1 + 9 * 1.0 / 9
    assert ZDT1Int().evaluate(genome) == pytest.approx(
        {"f1": 0.25, "f2": g * (1 - np.sqrt(0.25 / g))})


def test_bounds_and_grid() -> None:
    space = ZDT1Int(n_var=4, levels=3)
    assert space.int_bounds() == [(0, 2)] * 4
    assert space.cardinality() == 81
    np.testing.assert_allclose(space.x([0, 1, 2, 1]), [0, 0.5, 1, 0.5])
    np.testing.assert_array_equal(space.encode([0, 1, 2, 1]), [0, 1, 2, 1])


def test_objectives_resolve_from_options() -> None:
    problem = resolve(validate_config({"space": {"name": "dtlz2_int", "options": {"n_obj": 4}}}))
    assert [(o.name, o.direction) for o in problem.objectives] == [
        ("f1", "min"), ("f2", "min"), ("f3", "min"), ("f4", "min")]
    with pytest.raises(ConfigError, match="n_obj"):
        resolve(validate_config({"space": {"name": "dtlz2_int", "options": {"n_obj": 5}}}))
