"""Contract tests every plugin must pass, shipped so third-party packages run the same checks.

Subclass and provide a ``space`` fixture::

    class TestMySpace(SpaceContract):
        @pytest.fixture
        def space(self):
            return MySpace()
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from nasplat.errors import InvalidGenome
from nasplat.space import SearchSpace

SAMPLES = 20


def _count_params(model: object) -> int:
    return sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]


class SpaceContract:
    """Checks every SearchSpace must pass. Subclass and define a ``space`` fixture."""

    @pytest.fixture
    def space(self) -> SearchSpace:
        """The space under test: override in the subclass."""
        raise NotImplementedError("define a `space` fixture that returns your SearchSpace")

    @pytest.fixture
    def genomes(self, space: SearchSpace) -> list:
        """A few sampled genomes."""
        rng = np.random.default_rng(0)
        return [space.sample(rng) for _ in range(SAMPLES)]

    def test_declares_itself(self, space: SearchSpace) -> None:
        """Name, genome kind, task and a positive cardinality are declared."""
        assert isinstance(space.name, str) and space.name
        assert space.kind in ("int_vector", "bit_mask", "gene_list", "cell_dag", "other")
        assert isinstance(space.task, str)
        assert space.cardinality() > 0

    def test_samples_are_valid(self, space: SearchSpace, genomes: list) -> None:
        """Every sampled genome passes ``validate``."""
        for genome in genomes:
            space.validate(genome)

    def test_sampling_is_seeded(self, space: SearchSpace) -> None:
        """The same seed gives the same genomes."""
        a = [space.genome_hash(space.sample(np.random.default_rng(7))) for _ in range(3)]
        b = [space.genome_hash(space.sample(np.random.default_rng(7))) for _ in range(3)]
        assert a == b

    def test_mutate_and_crossover_give_valid_genomes(self, space: SearchSpace,
                                                     genomes: list) -> None:
        """Children are valid and parents are left untouched."""
        rng = np.random.default_rng(1)
        for a, b in zip(genomes, genomes[1:]):
            before = (json.dumps(space.to_json(a)), json.dumps(space.to_json(b)))
            space.validate(space.mutate(a, rng))
            space.validate(space.crossover(a, b, rng))
            assert (json.dumps(space.to_json(a)), json.dumps(space.to_json(b))) == before, \
                "mutate/crossover modified a parent in place"

    def test_mutation_changes_something(self, space: SearchSpace, genomes: list) -> None:
        """Mutation is not the identity (most of the time)."""
        rng = np.random.default_rng(2)
        changed = sum(space.genome_hash(space.mutate(g, rng)) != space.genome_hash(g)
                      for g in genomes)
        assert changed >= len(genomes) // 2

    def test_json_round_trip(self, space: SearchSpace, genomes: list) -> None:
        """``from_json(to_json(g))`` is ``g``, through real JSON text."""
        for genome in genomes:
            text = json.dumps(space.to_json(genome))
            back = space.from_json(json.loads(text))
            assert json.dumps(space.to_json(back)) == text

    def test_bad_json_is_invalid_genome(self, space: SearchSpace) -> None:
        """Malformed genome JSON raises InvalidGenome, not a crash from deep inside."""
        for bad in (None, "not a genome", 42, {"x": 1}):
            with pytest.raises(InvalidGenome):
                space.from_json(bad)

    def test_hash_is_stable(self, space: SearchSpace, genomes: list) -> None:
        """Equal genomes hash equal, copies and round trips included."""
        for genome in genomes:
            h = space.genome_hash(genome)
            assert isinstance(h, str) and h
            assert space.genome_hash(copy.deepcopy(genome)) == h
            assert space.genome_hash(space.from_json(space.to_json(genome))) == h

    def test_encode_has_constant_length(self, space: SearchSpace, genomes: list) -> None:
        """``encode`` gives finite float vectors of one length."""
        lengths = set()
        for genome in genomes:
            code = np.asarray(space.encode(genome), dtype=float)
            assert code.ndim == 1 and np.isfinite(code).all()
            lengths.add(code.shape[0])
        assert len(lengths) == 1

    def test_cheap_metrics_are_numbers(self, space: SearchSpace, genomes: list) -> None:
        """Cheap metrics are finite numbers."""
        for genome in genomes[:5]:
            for name, value in space.cheap_metrics(genome).items():
                assert math.isfinite(float(value)), f"cheap metric {name} = {value}"

    def test_build_and_forward(self, space: SearchSpace, genomes: list) -> None:
        """The built model runs a dummy batch; its parameter count equals ``params``."""
        import torch

        for genome in genomes[:5]:
            try:
                model = space.build(genome)
            except NotImplementedError:
                pytest.skip(f"space '{space.name}' builds no model")
            model.eval()
            with torch.no_grad():
                out = model(space.dummy_input(2))
            first = out[0] if isinstance(out, tuple) else out
            assert first.shape[0] == 2
            metrics = space.cheap_metrics(genome)
            if "params" in metrics:
                assert int(metrics["params"]) == _count_params(model)
