"""The dense_prune genome: the contract suite, repair and the variation operators."""

from __future__ import annotations

import numpy as np
import pytest

from nasplat.errors import InvalidGenome
from nasplat.spaces.dense_prune import DensePruneSpace
from nasplat.testing import SpaceContract


class TestDensePruneContract(SpaceContract):
    """Every check nasplat runs on its spaces, on two feature counts."""

    @pytest.fixture(params=[16, 128])
    def space(self, request: pytest.FixtureRequest) -> DensePruneSpace:
        return DensePruneSpace(width=request.param, hidden=8)


def test_mask_covers_every_feature_and_cheap_metrics_count_it(space: DensePruneSpace) -> None:
    genome = space.sample(np.random.default_rng(0))
    assert space.kind == "bit_mask" and len(genome) == space.features == 64
    assert space.int_bounds() == [(0, 1)] * 64
    np.testing.assert_array_equal(space.encode(genome), np.asarray(genome, dtype=float))
    metrics = space.cheap_metrics(genome)
    kept = sum(genome)
    assert metrics["active"] == metrics["active_units"] == kept / 64
    assert metrics["params"] == kept * 8 + 8 + 8 * 10 + 10


def test_all_zero_masks_are_repaired(space: DensePruneSpace) -> None:
    zero = (0,) * 64
    with pytest.raises(InvalidGenome, match="at least one feature"):
        space.validate(zero)
    assert sum(space.repair(zero)) == 1
    rng = np.random.default_rng(0)
    assert sum(space.crossover(zero, zero, rng)) >= 1
    one = (1,) + (0,) * 63  # its only flip may empty it
    for _ in range(20):
        space.validate(space.mutate(one, rng))


def test_mutation_flips_bits_at_the_rate() -> None:
    space = DensePruneSpace(width=256, hidden=8, mutation_rate=0.1)
    rng = np.random.default_rng(0)
    genome = space.sample(rng)
    flips = [np.sum(np.array(space.mutate(genome, rng)) != genome) for _ in range(200)]
    assert np.mean(flips) == pytest.approx(0.1 * 1024, rel=0.1)
    default = DensePruneSpace(width=256, hidden=8)  # 1/P: about one flip, never none
    assert min(np.sum(np.array(default.mutate(genome, rng)) != genome) for _ in range(50)) >= 1


def test_crossover_is_uniform_or_one_point(space: DensePruneSpace) -> None:
    a, b = (1,) * 64, (0,) * 63 + (1,)
    rng = np.random.default_rng(3)
    kinds = set()
    for _ in range(40):
        child = np.array(space.crossover(a, b, rng))
        ones = np.flatnonzero(child[:-1])
        if len(ones) and ones.max() == len(ones) - 1:  # a prefix of a, then b: one point
            kinds.add("one_point")
        else:
            kinds.add("uniform")
    assert kinds == {"one_point", "uniform"}


def test_genome_json_is_a_bit_string(space: DensePruneSpace) -> None:
    genome = space.sample(np.random.default_rng(1))
    text = space.to_json(genome)
    assert isinstance(text, str) and len(text) == 64 and set(text) <= {"0", "1"}
    with pytest.raises(InvalidGenome, match="string of 0 and 1"):
        space.from_json("0120")
    with pytest.raises(InvalidGenome, match="mask of 64 bits"):
        space.from_json("01")
